"""Plain text of PDF reports that carry a text layer (needs pypdf, extra ``alia-clin[office]``).

Many hospitals archive discharge and outpatient reports as PDF files printed from the EHR. Such a
PDF holds its text; ``pypdf`` extracts it page by page (reading order as the PDF draws it), and
the pages are joined with a blank line. Within a line, runs of spaces become one and blank lines
collapse, as for the other formats (:func:`~alia_clin.io.markup.layout_text`). Page headers and
footers are part of each page's text, so a patient label printed on every page is in the text
(and de-identified with the rest). Offsets of every output refer to the text returned here.

A scanned report has no text layer: it is refused (``no_text``) rather than read as an empty
note; OCR is out of scope. An encrypted PDF is read only when it opens without a password.
"""

from __future__ import annotations

import io

from .markup import PDF_TYPES, layout_text

__all__ = ["PDF_TYPES", "PdfError", "pdf_to_text"]
_MAGIC = b"%PDF-"


class PdfError(ValueError):
    """A PDF that cannot be read as text; ``code``: ``malformed``, ``encrypted`` or ``no_text``.
    The message names no content."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def pdf_to_text(raw: bytes) -> str:
    """Plain text of a PDF given as bytes (see the module docstring).

    Raises :class:`PdfError`, and ``ImportError`` when pypdf is not installed.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if _MAGIC not in raw[:1024]:
        raise PdfError("malformed", "not a PDF document")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise PdfError("encrypted", "an encrypted PDF that needs a password")
        pages = [layout_text(page.extract_text() or "") for page in reader.pages]
    except PdfError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError) as exc:
        raise PdfError("malformed", f"unreadable PDF ({exc.__class__.__name__})") from None
    text = "\n\n".join(p for p in pages if p)
    if not text.strip():
        raise PdfError("no_text", "a PDF without a text layer (a scanned report needs OCR)")
    return text

"""Plain text out of the marked-up note formats of EHR exports (FHIR attachments, text columns).

Reads note content; writes nothing. HTML/XHTML: tags dropped, block elements become line
breaks, ``script``/``style``/``head`` removed, entities decoded. RTF (many hospital information
systems store their reports as RTF): converted with ``striprtf``; ``\\par`` and ``\\line``
become line breaks, ``\\tab`` a tab, ``\\'hh`` and ``\\uN`` escapes are decoded with the
document's own code page (``\\ansicpg``), and destinations such as the font table, ``\\info``
(author, company …), headers, footers and pictures are dropped. In both, the cells of a table
row are separated by tabs, so "FEVI" and "35 %" in two cells stay apart and read as a label and
its value. Offsets in every output refer to the plain text returned here.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser

from striprtf.striprtf import rtf_to_text as _striprtf

RTF_TYPES = frozenset({"text/rtf", "application/rtf"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
#: CDA R2 documents; a generic XML type is read only when it holds a ClinicalDocument.
CDA_TYPES = frozenset({"application/hl7-v3+xml", "application/cda+xml", "text/xml", "application/xml"})
DOCX_TYPES = frozenset({"application/vnd.openxmlformats-officedocument.wordprocessingml.document"})
PDF_TYPES = frozenset({"application/pdf"})
#: Every media type read as a document other than plain text → its ``markup`` for
#: :func:`document_to_text` (Word and PDF need the extra ``alia-clin[office]``).
MEDIA_MARKUPS: dict[str, str] = {
    **dict.fromkeys(sorted(HTML_TYPES), "html"),
    **dict.fromkeys(sorted(RTF_TYPES), "rtf"),
    **dict.fromkeys(sorted(CDA_TYPES), "cda"),
    **dict.fromkeys(DOCX_TYPES, "docx"),
    **dict.fromkeys(PDF_TYPES, "pdf"),
}
_BLOCK_TAGS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "table",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "section",
        "article",
        "header",
        "footer",
        "pre",
        "blockquote",
        "dt",
        "dd",
    ]
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})
_CELL_TAGS = frozenset({"td", "th"})
_SPACES = re.compile(r"\s+")
# RTF table cells end with \cell (\nestcell in nested tables); not \cellx, a cell's width.
_RTF_CELL = re.compile(r"(?<!\\)\\(?:nest)?cell(?![a-z])(?:-?\d+)? ?", re.IGNORECASE)
_RTF_MAGIC = b"{\\rtf"
# An HTML fragment, as EHR text columns hold them: it opens with a common element and closes one.
_HTML_FRAGMENT = re.compile(
    r"\s*<(?:p|div|span|b|i|u|strong|em|font|br|table|ul|ol|li|h[1-6]|pre|body)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_HTML_CLOSE = re.compile(r"</[a-z][a-z0-9]*\s*>|<br\s*/?>", re.IGNORECASE)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._cells = 0  # cells opened in the current table row
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._pre += tag == "pre"
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag in _CELL_TAGS:
            if self._cells:
                self.parts.append("\t")
            self._cells += 1
        elif tag in _BLOCK_TAGS:
            self._cells = 0 if tag == "tr" else self._cells
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self._pre = max(0, self._pre - (tag == "pre"))
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:  # source line breaks are spaces, as when rendered (but not in <pre>)
            self.parts.append(data if self._pre else _SPACES.sub(" ", data))


def html_to_text(html: str) -> str:
    """Plain text of an HTML/XHTML fragment (see the module docstring)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return layout_text("".join(parser.parts))


def layout_text(raw: str) -> str:
    """Markup text with ``\\n`` at block edges and ``\\t`` between cells, laid out as a note.

    Runs of spaces (source indentation, line wrapping) become one space inside each line and
    cell, blank lines collapse to one, and the text is stripped of leading and trailing breaks.
    """
    lines = ["\t".join(" ".join(cell.split()) for cell in line.split("\t")) for line in raw.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


def heading_line(title: str) -> str:
    """A section title as a heading line: spaces collapsed, a colon added unless it ends in one
    (or a full stop), so :mod:`alia_clin.context.sections` reads it as a heading."""
    title = " ".join(title.split())
    return title if not title or title.endswith((":", ".")) else f"{title}:"


def is_rtf(raw: bytes) -> bool:
    """Whether ``raw`` opens like an RTF document (after an optional BOM and blanks)."""
    return raw.removeprefix(codecs.BOM_UTF8).lstrip()[: len(_RTF_MAGIC)] == _RTF_MAGIC


def rtf_text(source: str, codepage: str = "cp1252") -> str:
    """Plain text of an RTF document already decoded to a string.

    ``\\'hh`` escapes are read in the document's ``\\ansicpg`` code page, else ``codepage``;
    ``\\uN`` escapes and characters outside the escapes are kept as they are. Raises
    ``UnicodeDecodeError`` on an escape that the code page does not define.
    """
    text: str = _striprtf(_RTF_CELL.sub(r"\\tab ", source), encoding=codepage, errors="strict")
    return text.replace("\t\n", "\n")


def rtf_to_text(raw: bytes, charset: str | None = None) -> str:
    """Plain text of an RTF document given as bytes.

    RTF is 7-bit: other characters come as ``\\'hh`` escapes in the document's code page
    (``charset`` or Windows-1252 when the document names none) or as ``\\uN`` escapes. Raw
    non-ASCII bytes, which some writers emit, are read as ``charset``, else UTF-8, else
    Windows-1252. Raises ``UnicodeDecodeError`` on undecodable content.
    """
    body = raw.removeprefix(codecs.BOM_UTF8)
    try:
        source = body.decode(charset or "utf-8")
    except UnicodeDecodeError:
        if charset:
            raise
        source = body.decode("cp1252")
    return rtf_text(source, charset or "cp1252")


def document_to_text(raw: bytes, markup: str, charset: str | None = None) -> str:
    """Plain text of a document given as bytes (a file, a FHIR attachment) written in ``markup``
    (``"rtf"``, ``"html"``, ``"cda"``, ``"docx"`` or ``"pdf"``). ``charset``: the encoding declared
    with it (RTF: read as :func:`rtf_to_text` does; HTML: how to decode it, default UTF-8, a BOM
    dropped; CDA: overrides the XML declaration; Word and PDF documents carry their own). Raises
    ``ValueError`` for RTF content that is not RTF, and ``UnicodeDecodeError``,
    :class:`~alia_clin.io.cda.CdaError`, :class:`~alia_clin.io.word.WordError` or
    :class:`~alia_clin.io.pdf.PdfError` (all ``ValueError``); ``ImportError`` for ``docx`` or
    ``pdf`` without python-docx or pypdf."""
    if markup == "rtf":
        if not is_rtf(raw):
            raise ValueError("not an RTF document")
        return rtf_to_text(raw, charset)
    if markup == "cda":
        from .cda import cda_to_text

        return cda_to_text(raw.decode(charset) if charset else raw)
    if markup == "docx":
        from .word import docx_to_text

        return docx_to_text(raw)
    if markup == "pdf":
        from .pdf import pdf_to_text

        return pdf_to_text(raw)
    if markup == "html":
        encoding = charset or "utf-8"
        return html_to_text(raw.decode("utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding))
    raise ValueError(f"unknown markup {markup!r}")


def _is_html_fragment(text: str) -> bool:
    return _HTML_FRAGMENT.match(text) is not None and _HTML_CLOSE.search(text) is not None


def detect_markup(text: str) -> str | None:
    """``"rtf"``, ``"html"`` or ``"cda"`` when ``text`` is a whole document of that kind, else None.

    Only the document's opening is read (``{\\rtf``; ``<!DOCTYPE html``, ``<html``, or an HTML
    fragment that opens with a common element such as ``<div>``, ``<p>``, ``<b>`` and closes a
    tag or breaks a line somewhere; an XML document whose first 4 KB open a
    ``ClinicalDocument``), so a plain note that mentions a tag is never taken for markup.
    """
    from .cda import is_cda

    head = text.lstrip("\ufeff \t\r\n")[:16].lower()
    if head.startswith("{\\rtf"):
        return "rtf"
    if head.startswith(("<!doctype html", "<html")) or _is_html_fragment(text):
        return "html"
    if is_cda(text):
        return "cda"
    return None


def markup_to_text(text: str, markup: str) -> str:
    """Plain text of ``text`` written in ``markup`` (``"rtf"``, ``"html"`` or ``"cda"``).

    Raises ``ValueError`` when ``text`` is not a document of that kind (``"rtf"``, ``"cda"``),
    including ``UnicodeDecodeError`` on an undecodable RTF escape and
    :class:`~alia_clin.io.cda.CdaError`.
    """
    if markup == "html":
        return html_to_text(text)
    if markup == "rtf":
        if detect_markup(text) != "rtf":
            raise ValueError("not an RTF document")
        return rtf_text(text)
    if markup == "cda":
        from .cda import cda_to_text

        return cda_to_text(text)
    raise ValueError(f"unknown markup {markup!r}")


def to_plain_text(text: str, markup: str = "auto") -> tuple[str, str | None]:
    """``(plain text, the markup it was written in or None)`` under a ``--markup`` choice.

    ``auto`` converts ``text`` only when it is a whole RTF, HTML or CDA document; ``none``
    never converts; ``rtf`` / ``html`` / ``cda`` always do. Raises ``ValueError`` as
    :func:`markup_to_text` does.
    """
    kind = detect_markup(text) if markup == "auto" else (None if markup == "none" else markup)
    if kind is None:
        return text, None
    return markup_to_text(text, kind), kind

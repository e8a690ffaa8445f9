"""Read a folder of report files: RTF, HTML, HL7 CDA, Word and PDF documents, one note per file.

Hospital systems often export their reports as files rather than plain text: ``.rtf``,
``.html`` / ``.htm`` / ``.xhtml``, ``.xml`` (a CDA ``ClinicalDocument``), ``.docx`` and ``.pdf``
with a text layer (both read with the extra ``alia-clin[office]``). Yields one
:class:`~alia_clin.io.folders.NoteRecord` per such file, in name order, with the plain text of
:mod:`alia_clin.io.markup` / :mod:`alia_clin.io.cda` / :mod:`alia_clin.io.word` /
:mod:`alia_clin.io.pdf` (``record.meta["markup"]`` says which);
offsets refer to that text (the ``text`` output writes it). ``.txt`` notes in the same folder are
read as they are (:func:`~alia_clin.io.folders.read_note`), so a mixed export loses no note.
RTF, CDA, Word and PDF carry their own encoding; HTML and ``.txt`` are decoded with ``encoding``. A file
that cannot be read or converted yields a record with ``error`` set (reasons name the file's
format and a byte position, never text).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ..errors import AliaClinValueError, ErrorCode
from .cda import CdaError, is_cda
from .folders import NoteRecord, read_note
from .markup import document_to_text
from .pdf import PdfError

#: File suffix → markup.
REPORT_SUFFIXES = {
    ".rtf": "rtf",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".xml": "cda",
    ".docx": "docx",
    ".pdf": "pdf",
}


def list_reports(in_dir: str | Path, *, with_txt: bool = True) -> list[Path]:
    """Every report file of ``in_dir`` (not recursive; suffix in any case), and its ``.txt`` notes
    unless ``with_txt`` is False, sorted by name. Office lock files (``~$name.docx``, left while
    a document is open in Word) are not reports."""
    p = Path(in_dir)
    if not p.is_dir():
        raise AliaClinValueError(ErrorCode.E006, path=str(p))
    suffixes = {*REPORT_SUFFIXES, ".txt"} if with_txt else set(REPORT_SUFFIXES)
    return sorted(
        f for f in p.iterdir() if f.suffix.lower() in suffixes and not f.name.startswith("~$") and f.is_file()
    )


def holds_reports(in_dir: str | Path, *, sample: int = 20) -> bool:
    """Whether ``in_dir`` holds report files: an RTF, HTML, Word or PDF file, or an ``.xml`` file (of the
    first ``sample``) that opens a CDA ``ClinicalDocument`` (other XML, e.g. annotation exports,
    does not count)."""
    files = list_reports(in_dir, with_txt=False)
    if any(REPORT_SUFFIXES[f.suffix.lower()] != "cda" for f in files):
        return True
    for f in [f for f in files if REPORT_SUFFIXES[f.suffix.lower()] == "cda"][:sample]:
        try:
            with f.open("rb") as fh:
                head = fh.read(4096)
        except OSError:
            continue
        if is_cda(head.decode("utf-8", errors="replace")):
            return True
    return False


def read_report(path: Path, encoding: str = "utf-8") -> NoteRecord:
    """One report file as a record (see the module docstring)."""
    if path.suffix.lower() == ".txt":
        return replace(read_note(path, encoding), position=f"file {path.name}")
    stem, markup = path.stem, REPORT_SUFFIXES[path.suffix.lower()]
    meta, where = {"markup": markup}, {"position": f"file {path.name}"}
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return NoteRecord(
            stem, None, f"unreadable file ({exc.__class__.__name__})", "unreadable", meta=meta, **where
        )
    try:
        # RTF, CDA, Word and PDF declare their own encoding; ``encoding`` is the HTML files'
        text = document_to_text(raw, markup, encoding if markup == "html" else None)
    except ImportError:
        reason = f"reading .{path.suffix.lower().lstrip('.')} files needs alia-clin[office]"
        return NoteRecord(stem, None, reason, "missing_module", meta=meta, **where)
    except PdfError as exc:
        return NoteRecord(stem, None, f"PDF: {exc}", exc.code, meta=meta, **where)
    except UnicodeDecodeError as exc:
        reason = f"invalid {exc.encoding} at byte {exc.start} in the {markup.upper()} file"
        return NoteRecord(stem, None, reason, "invalid_encoding", meta=meta, **where)
    except CdaError as exc:
        return NoteRecord(stem, None, f"CDA: {exc}", "malformed", meta=meta, **where)
    except ValueError as exc:
        return NoteRecord(stem, None, f"{exc}", "malformed", meta=meta, **where)
    if not text.strip():
        return NoteRecord(stem, text, "empty note", "empty", meta=meta, **where)
    return NoteRecord(stem, text, meta=meta, **where)


def iter_reports(in_dir: str | Path, encoding: str = "utf-8") -> Iterator[NoteRecord]:
    """Stream the report files of a folder as plain-text records."""
    for path in list_reports(in_dir):
        yield read_report(path, encoding)

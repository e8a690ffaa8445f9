"""Read a folder of notes (``*.txt``, optionally with BRAT ``.ann`` beside them).

Yields one :class:`NoteRecord` per ``*.txt`` file in name order. A file that cannot be read,
does not decode in the folder's encoding (UTF-8 unless given: legacy exports are often
``cp1252`` or ``latin-1``) or is empty yields a record with ``error`` set (and no text) instead
of raising, so one bad note never stops a run. Offsets are indices into the exact content read
with ``newline=""``; in UTF-8 a byte-order mark stays in the text as its first character, so
offsets count it, as tools that read the file as it is do. A file that opens with a UTF-16 or
UTF-32 byte-order mark (a Windows "Unicode" export) cannot be UTF-8: under a UTF-8 setting it is
read in that encoding (:func:`bom_encoding`), and the mark is not part of the text.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode


@dataclass(frozen=True)
class NoteRecord:
    """One input note, whatever its source format.

    ``id``: record id (file stem, id column, resource id); ``text``: None when unreadable;
    ``error``/``error_code``: why the record is bad (never note text); ``patient_id``,
    ``date`` (ISO 8601 string), ``language`` (es/ca/eu/gl): from the source when it gives them;
    ``position``: where the record sits in its source (e.g. ``"line 12"``, ``"row 7"``) for
    error reports; ``meta``: other JSON-able source fields a writer may need (e.g. the
    original row for a de-identified copy of an export).
    """

    id: str
    text: str | None
    error: str | None = None
    error_code: str | None = None
    patient_id: str | None = None
    date: str | None = None
    language: str | None = None
    position: str | None = None
    meta: dict[str, Any] | None = None


def list_notes(in_dir: str | Path) -> list[Path]:
    """Every ``*.txt`` file of ``in_dir`` (not recursive), sorted by name. Raises E006."""
    p = Path(in_dir)
    if not p.is_dir():
        raise AliaClinValueError(ErrorCode.E006, path=str(p))
    return sorted(f for f in p.iterdir() if f.suffix == ".txt" and f.is_file())


#: Byte-order marks of the UTF-16/32 encodings; UTF-32 LE first, as its mark opens like UTF-16 LE's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_encoding(head: bytes, encoding: str) -> str:
    """Return ``encoding``, or ``"utf-16"`` / ``"utf-32"`` when ``encoding`` is UTF-8 and ``head``
    (a file's first bytes) opens with that encoding's byte-order mark, which no UTF-8 text does."""
    if codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        return encoding
    for bom, name in _WIDE_BOMS:
        if head.startswith(bom):
            return name
    return encoding


def file_encoding(path: Path, encoding: str) -> str:
    """:func:`bom_encoding` for the first bytes of ``path`` (``encoding`` if it cannot be read)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except OSError:
        return encoding
    return bom_encoding(head, encoding)


def text_encoding(encoding: str) -> str:
    """Return the codec that decodes (and writes back) a note file of ``encoding``.

    ``utf-8-sig`` (the readers' default, which skips a BOM in tabular exports) reads note files
    as ``utf-8``: a BOM stays a character of the note (see the module docstring).
    """
    name = codecs.lookup(encoding).name
    return "utf-8" if name in ("utf-8", "utf-8-sig") else name


def read_note(path: Path, encoding: str = "utf-8") -> NoteRecord:
    """Read one note in ``encoding``; failures become a record with an error reason (never the text)."""
    stem = path.stem
    codec = text_encoding(encoding)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return NoteRecord(stem, None, f"unreadable file ({exc.__class__.__name__})", "unreadable")
    codec = bom_encoding(raw[:4], codec)
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as exc:
        hint = " (a legacy export? pass its encoding, e.g. --encoding cp1252)" if codec == "utf-8" else ""
        label = "UTF-8" if codec == "utf-8" else codec
        return NoteRecord(stem, None, f"invalid {label} at byte {exc.start}{hint}", "invalid_encoding")
    if not text.strip():
        return NoteRecord(stem, text, "empty note", "empty")
    return NoteRecord(stem, text)


def iter_notes(in_dir: str | Path, encoding: str = "utf-8") -> Iterator[NoteRecord]:
    """Stream the notes of a folder, decoded with ``encoding`` (see the module docstring)."""
    for path in list_notes(in_dir):
        yield read_note(path, encoding)

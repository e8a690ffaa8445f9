"""Read a folder of notes (``*.txt``, optionally with BRAT ``.ann`` beside them).

Yields one :class:`NoteRecord` per ``*.txt`` file in name order. A file that cannot be read,
is not valid UTF-8 or is empty yields a record with ``error`` set (and no text) instead of
raising, so one bad note never stops a run. Offsets are indices into the exact content read
with ``newline=""``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AliaClinValueError, ErrorCode


@dataclass(frozen=True)
class NoteRecord:
    """One input note: its id (file stem), text (None when unreadable) and error reason."""

    id: str
    text: str | None
    error: str | None = None
    error_code: str | None = None


def list_notes(in_dir: str | Path) -> list[Path]:
    """Every ``*.txt`` file of ``in_dir`` (not recursive), sorted by name. Raises E006."""
    p = Path(in_dir)
    if not p.is_dir():
        raise AliaClinValueError(ErrorCode.E006, path=str(p))
    return sorted(f for f in p.iterdir() if f.suffix == ".txt" and f.is_file())


def read_note(path: Path) -> NoteRecord:
    """Read one note; failures become a record with an error reason (never the text)."""
    stem = path.stem
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return NoteRecord(stem, None, f"unreadable file ({exc.__class__.__name__})", "unreadable")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return NoteRecord(stem, None, f"invalid UTF-8 at byte {exc.start}", "invalid_encoding")
    if not text.strip():
        return NoteRecord(stem, text, "empty note", "empty")
    return NoteRecord(stem, text)


def iter_notes(in_dir: str | Path) -> Iterator[NoteRecord]:
    """Stream the notes of a folder (see the module docstring)."""
    for path in list_notes(in_dir):
        yield read_note(path)

"""BRAT standoff reading and writing.

Reads ``.ann`` files (``T`` text-bound entities, ``A`` attributes; other lines are kept out)
and writes ``T``/``A`` lines. Offsets are Python string indices into the ``.txt`` content read
with ``newline=""``. Discontinuous spans (``START END;START END``) are read as their covering
span with ``fragments`` kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AliaClinValueError, ErrorCode


@dataclass(frozen=True)
class BratEntity:
    """One ``T`` line: id, label, covering offsets, fragments and the annotated text."""

    id: str
    label: str
    start: int
    end: int
    text: str
    fragments: tuple[tuple[int, int], ...] = field(default=())


@dataclass(frozen=True)
class BratAttribute:
    """One ``A`` (or ``M``) line: id, attribute name, target ``T`` id and optional value."""

    id: str
    name: str
    target: str
    value: str | None = None


@dataclass
class BratDocument:
    """Entities and attributes of one ``.ann`` file."""

    entities: list[BratEntity] = field(default_factory=list)
    attributes: list[BratAttribute] = field(default_factory=list)


def parse_ann(content: str, *, source: str = "<string>") -> BratDocument:
    """Parse the content of an ``.ann`` file. Raises ``E008`` on a malformed ``T`` line."""
    doc = BratDocument()
    for lineno, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        kind = line[0]
        parts = line.split("\t")
        if kind == "T":
            if len(parts) < 2:
                raise AliaClinValueError(ErrorCode.E008, path=source, line=lineno, reason="missing fields")
            head = parts[1].split(" ", 1)
            if len(head) != 2:
                raise AliaClinValueError(ErrorCode.E008, path=source, line=lineno, reason="missing offsets")
            label, offsets = head
            try:
                frags = tuple(
                    (int(a), int(b))
                    for a, b in (piece.split() for piece in offsets.split(";"))
                )
            except ValueError:
                raise AliaClinValueError(
                    ErrorCode.E008, path=source, line=lineno, reason="offsets are not integers"
                ) from None
            start = min(a for a, _ in frags)
            end = max(b for _, b in frags)
            if start < 0 or end < start:
                raise AliaClinValueError(ErrorCode.E008, path=source, line=lineno, reason="bad offsets")
            text = parts[2] if len(parts) > 2 else ""
            doc.entities.append(
                BratEntity(parts[0], label, start, end, text, frags if len(frags) > 1 else ())
            )
        elif kind in ("A", "M") and len(parts) >= 2:
            fields_ = parts[1].split()
            if len(fields_) >= 2:
                value = fields_[2] if len(fields_) > 2 else None
                doc.attributes.append(BratAttribute(parts[0], fields_[0], fields_[1], value))
    return doc


def read_ann(path: str | Path) -> BratDocument:
    """Read one ``.ann`` file (UTF-8). A missing file reads as an empty document."""
    p = Path(path)
    if not p.exists():
        return BratDocument()
    with p.open(encoding="utf-8", newline="") as fh:
        return parse_ann(fh.read(), source=str(p))


def read_text(path: str | Path) -> str:
    """Read a note exactly as offsets count it: UTF-8 with ``newline=""``."""
    with Path(path).open(encoding="utf-8", newline="") as fh:
        return fh.read()


def _clean(text: str) -> str:
    """BRAT stores the span text on one line: newlines and tabs become spaces."""
    return text.replace("\r", " ").replace("\n", " ").replace("\t", " ")


def format_ann(
    text: str,
    entities: Sequence[tuple[int, int, str]],
    attributes: Iterable[tuple[int, str]] = (),
) -> str:
    """Format ``T`` lines for ``(start, end, label)`` spans over ``text`` and ``A`` lines.

    ``attributes`` holds ``(entity_index, name)`` pairs, entity_index into ``entities``.
    Returns the ``.ann`` content (empty string when there is nothing).
    """
    lines = []
    for i, (start, end, label) in enumerate(entities, start=1):
        lines.append(f"T{i}\t{label} {start} {end}\t{_clean(text[start:end])}")
    for j, (idx, name) in enumerate(attributes, start=1):
        lines.append(f"A{j}\t{name} T{idx + 1}")
    return "".join(line + "\n" for line in lines)


def write_ann(path: str | Path, content: str) -> None:
    """Write ``.ann`` content as UTF-8 without newline translation."""
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        fh.write(content)

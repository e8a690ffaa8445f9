"""Read a JSONL export (one JSON object per line) as a stream of :class:`NoteRecord`.

Each line is decoded on its own, so invalid bytes (``invalid_encoding``) or invalid JSON / a
non-object line (``malformed``) spoil only that record. Blank lines are skipped. Positions are
``line N``. Memory stays constant: one line at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import AliaClinValueError, ErrorCode
from .folders import NoteRecord
from .mapping import INVALID_ENCODING, MALFORMED, fallback_id, record_from_row
from .options import ReaderOptions


def iter_jsonl_notes(path: str | Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    """Stream the objects of a JSONL file (see the module docstring). Raises E500."""
    p = Path(path)
    if not p.is_file():
        raise AliaClinValueError(ErrorCode.E500, path=str(p))
    encoding = "utf-8" if options.encoding.lower().replace("_", "-") == "utf-8-sig" else options.encoding
    with p.open("rb") as fh:
        for n, raw in enumerate(fh, start=1):
            position = f"line {n}"
            if n == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                yield NoteRecord(
                    fallback_id(position),
                    None,
                    f"invalid bytes at byte {exc.start}",
                    INVALID_ENCODING,
                    position=position,
                )
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield NoteRecord(
                    fallback_id(position),
                    None,
                    f"malformed JSON ({exc.msg}, column {exc.colno})",
                    MALFORMED,
                    position=position,
                )
                continue
            if not isinstance(obj, dict):
                yield NoteRecord(
                    fallback_id(position),
                    None,
                    "malformed record: not a JSON object",
                    MALFORMED,
                    position=position,
                )
                continue
            yield record_from_row(obj, options, position)

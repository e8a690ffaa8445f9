"""Read CSV/TSV exports (Excel-style too: BOM, ``;``) as a stream of :class:`NoteRecord`.

Reads the file with the configured encoding (a UTF-16/32 byte-order mark overrides a UTF-8
setting: :func:`~alia_clin.io.folders.bom_encoding`) and ``errors="surrogateescape"`` so a row with
bytes that do not decode becomes one bad record (``invalid_encoding``) instead of stopping the
run; a row whose field count differs from the header, or that the csv module rejects, becomes
a ``malformed`` record. Positions are ``row N`` (1-based data row) with the line number.
Memory stays constant: one row at a time.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ..errors import AliaClinValueError, ErrorCode
from .folders import NoteRecord, file_encoding
from .mapping import MALFORMED, fallback_id, record_from_row
from .options import ReaderOptions, delimiter_for

_SAMPLE_CHARS = 65536


def _raise_field_limit() -> None:
    """Allow fields as large as the platform allows (oversize notes are judged by --max-chars)."""
    limit = sys.maxsize
    while True:
        try:
            csv.field_size_limit(limit)
            return
        except OverflowError:
            limit //= 10


def _open_text(path: Path, options: ReaderOptions) -> TextIO:
    """Open an export for reading: its encoding (see the module docstring), undecodable bytes
    kept as surrogates, newlines as they are (the csv module's contract)."""
    return path.open(encoding=file_encoding(path, options.encoding), errors="surrogateescape", newline="")


def csv_dialect(path: Path, options: ReaderOptions) -> dict[str, object]:
    """The csv keyword arguments for ``path`` (delimiter resolved, quoting, quotechar)."""
    with _open_text(path, options) as fh:
        sample = fh.read(_SAMPLE_CHARS)
    return {
        "delimiter": delimiter_for(path, options, sample),
        "quotechar": options.quotechar,
        "quoting": options.csv_quoting,
        "strict": True,
    }


def read_header(path: Path, options: ReaderOptions) -> list[str]:
    """The header row of a CSV/TSV file (empty list for an empty file)."""
    with _open_text(path, options) as fh:
        reader = csv.reader(fh, **csv_dialect(path, options))  # type: ignore[arg-type]
        return next(reader, [])


def iter_csv_notes(path: str | Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    """Stream the rows of a CSV/TSV export (see the module docstring). Raises E500, E501."""
    p = Path(path)
    if not p.is_file():
        raise AliaClinValueError(ErrorCode.E500, path=str(p))
    _raise_field_limit()
    dialect = csv_dialect(p, options)
    with _open_text(p, options) as fh:
        reader = csv.reader(fh, **dialect)  # type: ignore[arg-type]
        header = next(reader, None)
        if header is None:
            return
        for option, column in (("--id-col", options.id_col), ("--text-col", options.text_col)):
            if column not in header:
                raise AliaClinValueError(
                    ErrorCode.E501, column=column, option=option, path=str(p), columns=", ".join(header)
                )
        n = 0
        while True:
            n += 1
            position = f"row {n}"
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                reason = str(exc).split(":")[0]  # the csv module's reason, without any field content
                yield NoteRecord(
                    fallback_id(position),
                    None,
                    f"malformed CSV ({reason})",
                    MALFORMED,
                    position=f"{position} (line {reader.line_num})",
                )
                continue
            if not row:  # a blank line is not a record
                n -= 1
                continue
            if len(row) != len(header):
                yield NoteRecord(
                    fallback_id(position),
                    None,
                    f"malformed CSV row: {len(row)} fields, header has {len(header)}",
                    MALFORMED,
                    position=f"{position} (line {reader.line_num})",
                )
                continue
            yield record_from_row(
                dict(zip(header, row, strict=True)), options, f"{position} (line {reader.line_num})"
            )

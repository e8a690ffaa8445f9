"""Read a Parquet export as a stream of :class:`NoteRecord` (needs pyarrow).

Reads record batches of ``batch_rows`` rows, so memory stays bounded by one batch whatever
the file size. Positions are ``row N`` (1-based). ``count_rows`` gives the total from the file
metadata (for progress ETA) without reading data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from .folders import NoteRecord
from .mapping import record_from_row
from .options import ReaderOptions


def _pq() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise AliaClinValueError(
            ErrorCode.E502, fmt="parquet", module="pyarrow", hint="alia-clin[parquet]"
        ) from None
    return pq


def count_rows(path: str | Path) -> int:
    """Number of rows from the Parquet footer."""
    return int(_pq().ParquetFile(str(path)).metadata.num_rows)


def iter_parquet_notes(
    path: str | Path, options: ReaderOptions, *, batch_rows: int = 1024
) -> Iterator[NoteRecord]:
    """Stream the rows of a Parquet file (see the module docstring). Raises E500, E501, E502."""
    p = Path(path)
    if not p.is_file():
        raise AliaClinValueError(ErrorCode.E500, path=str(p))
    pf = _pq().ParquetFile(str(p))
    names = list(pf.schema_arrow.names)
    for option, column in (("--id-col", options.id_col), ("--text-col", options.text_col)):
        if column not in names:
            raise AliaClinValueError(
                ErrorCode.E501, column=column, option=option, path=str(p), columns=", ".join(names)
            )
    n = 0
    for batch in pf.iter_batches(batch_size=batch_rows):
        for row in batch.to_pylist():
            n += 1
            yield record_from_row(row, options, f"row {n}")

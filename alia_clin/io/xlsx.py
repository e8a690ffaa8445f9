"""Read an Excel workbook (``.xlsx`` / ``.xlsm``) as a stream of :class:`NoteRecord` (needs openpyxl).

Hospital data teams often receive EHR extracts as spreadsheets. The first worksheet is read, or
the one named by ``ReaderOptions.sheet``; its first row is the header, each later row one note
(mapped with :func:`~alia_clin.io.mapping.record_from_row`, so ``--markup`` applies to the text
column). openpyxl streams the sheet (read-only mode), so memory stays bounded whatever its size.

Cell values are read as Excel shows them: the cached result of a formula, not the formula.
Excel's ``_xHHHH_`` escapes in cell text (``_x000D_`` is the carriage return that Windows
applications store in a multi-line cell) are decoded, so a note's text is its real characters.
Dates become ISO 8601 strings. Rows with no value at all are skipped. Positions are ``row N``
(1-based data row) with the spreadsheet row number. The legacy binary ``.xls`` format is not
read (E512: save it as ``.xlsx`` or CSV).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from .folders import NoteRecord
from .mapping import record_from_row
from .options import ReaderOptions


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError:
        raise AliaClinValueError(
            ErrorCode.E502, fmt="xlsx", module="openpyxl", hint="alia-clin[office]"
        ) from None
    return openpyxl


def _open(path: Path) -> Any:
    """The workbook in read-only, values-only mode (E500 missing, E512 unreadable)."""
    if not path.is_file():
        raise AliaClinValueError(ErrorCode.E500, path=str(path))
    if path.suffix.lower() == ".xls":
        raise AliaClinValueError(
            ErrorCode.E512,
            path=str(path),
            fmt="xlsx",
            reason="the legacy .xls format: save it as .xlsx or CSV",
        )
    openpyxl = _openpyxl()
    try:
        return openpyxl.load_workbook(str(path), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise AliaClinValueError(
            ErrorCode.E512,
            path=str(path),
            fmt="xlsx",
            reason=f"not an Excel workbook ({exc.__class__.__name__})",
        ) from None


def _sheet(workbook: Any, path: Path, name: str | None) -> Any:
    if name is None:
        if not workbook.worksheets:
            raise AliaClinValueError(ErrorCode.E512, path=str(path), fmt="xlsx", reason="no worksheet")
        return workbook.worksheets[0]
    if name not in workbook.sheetnames:
        raise AliaClinValueError(
            ErrorCode.E513, sheet=name, path=str(path), sheets=", ".join(workbook.sheetnames)
        )
    return workbook[name]


def _value(value: Any, unescape: Any) -> Any:
    """A cell value as a record field: text unescaped, dates and times in ISO 8601."""
    if isinstance(value, str):
        return unescape(value) if "_x" in value else value
    if isinstance(value, (datetime, date, time)):
        if isinstance(value, datetime) and value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat()
    return value


def iter_xlsx_notes(path: str | Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    """Stream the rows of a worksheet (see the module docstring). Raises E500, E501, E502, E512,
    E513."""
    p = Path(path)
    workbook = _open(p)  # E502 before anything when openpyxl is missing
    from openpyxl.utils.escape import unescape

    try:
        rows = _sheet(workbook, p, options.sheet).iter_rows(values_only=True)
        header = ["" if h is None else str(_value(h, unescape)) for h in next(rows, ())]
        for option, column in (("--id-col", options.id_col), ("--text-col", options.text_col)):
            if column not in header:
                raise AliaClinValueError(
                    ErrorCode.E501,
                    column=column,
                    option=option,
                    path=str(p),
                    columns=", ".join(h for h in header if h),
                )
        n = 0
        for sheet_row, values in enumerate(rows, start=2):
            if all(v is None or v == "" for v in values):
                continue
            n += 1
            row = {name: _value(v, unescape) for name, v in zip(header, values, strict=False) if name}
            yield record_from_row(row, options, f"row {n} (spreadsheet row {sheet_row})")
    finally:
        workbook.close()

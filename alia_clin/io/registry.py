"""The input-format registry of ``alia-clin process``: name → reader.

A reader is ``fn(path, options) -> Iterator[NoteRecord]``. Built in: ``txt`` and ``brat``
(folders), ``reports`` (a folder of RTF / HTML / CDA / Word / PDF files, :mod:`alia_clin.io.reports`),
``csv``, ``tsv``, ``jsonl``, ``parquet``, ``xlsx`` (Excel, :mod:`alia_clin.io.xlsx`; its
de-identified copy is JSONL), and ``fhir-ndjson``, which imports
:mod:`alia_clin.fhir` lazily (coded error E502 when it is missing). Other packages add formats
with :func:`register_reader`. ``detect_format`` picks a format from the path.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import AliaClinValueError, ErrorCode
from .folders import NoteRecord, iter_notes, list_notes
from .options import ReaderOptions
from .reports import holds_reports, iter_reports, list_reports

Reader = Callable[[Path, ReaderOptions], Iterator[NoteRecord]]
Counter = Callable[[Path], int | None]


@dataclass(frozen=True)
class InputFormat:
    """One registered input format.

    ``copy_format``: the format a de-identified copy of the export is written in (``csv``,
    ``jsonl``, ``parquet``, ``text-folder``), or None when the format has no copy writer here.
    ``count``: the number of records without reading them all (for the ETA), or None.
    """

    name: str
    reader: Reader
    folder: bool = False
    copy_format: str | None = None
    count: Counter | None = None


_FORMATS: dict[str, InputFormat] = {}


def register_reader(fmt: InputFormat, *, replace_existing: bool = False) -> None:
    """Add an input format (E510 when the name is taken and ``replace_existing`` is False)."""
    if fmt.name in _FORMATS and not replace_existing:
        raise AliaClinValueError(ErrorCode.E510, fmt=fmt.name)
    _FORMATS[fmt.name] = fmt


def input_formats() -> list[str]:
    """Registered input format names."""
    return list(_FORMATS)


def get_input_format(name: str) -> InputFormat:
    """The registered format ``name`` (E012 when unknown)."""
    if name not in _FORMATS:
        raise AliaClinValueError(ErrorCode.E012, fmt=name, choices=", ".join(["auto", *_FORMATS]))
    return _FORMATS[name]


_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".xls": "xlsx",
}


def detect_format(path: str | Path) -> str:
    """The input format for ``path``: a folder → ``txt``; by suffix otherwise.

    ``.ndjson`` files and folders holding ``DocumentReference*.ndjson`` or ``Composition*.ndjson``
    are FHIR Bulk Data; a folder holding RTF / HTML / CDA / Word / PDF files is ``reports`` (which
    reads its ``.txt`` notes too); other XML files (annotation exports) do not make a folder
    ``reports``.
    """
    p = Path(path)
    if not p.exists():
        if p.suffix.lower() in (*_SUFFIXES, ".ndjson"):
            raise AliaClinValueError(ErrorCode.E500, path=str(p))
        raise AliaClinValueError(ErrorCode.E006, path=str(p))
    if p.is_dir():
        if any(p.glob("DocumentReference*.ndjson")) or any(p.glob("Composition*.ndjson")):
            return "fhir-ndjson"
        if holds_reports(p):
            return "reports"
        return "txt"
    suffix = p.suffix.lower()
    if suffix == ".ndjson":
        return "fhir-ndjson"
    if suffix in _SUFFIXES:
        return _SUFFIXES[suffix]
    raise AliaClinValueError(ErrorCode.E508, path=str(p), choices=", ".join(_FORMATS))


def _folder_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    for rec in iter_notes(path, options.encoding):
        yield replace(rec, position=f"file {rec.id}.txt")


def _folder_count(path: Path) -> int | None:
    return len(list_notes(path))


def _reports_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    return iter_reports(path, options.encoding)


def _reports_count(path: Path) -> int | None:
    return len(list_reports(path))


def _csv_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    from .tabular import iter_csv_notes

    return iter_csv_notes(path, options)


def _tsv_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    from .tabular import iter_csv_notes

    return iter_csv_notes(path, options if options.delimiter else replace(options, delimiter="\t"))


def _jsonl_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    from .jsonl import iter_jsonl_notes

    return iter_jsonl_notes(path, options)


def _parquet_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    from .parquet import iter_parquet_notes

    return iter_parquet_notes(path, options)


def _parquet_count(path: Path) -> int | None:
    from .parquet import count_rows

    return count_rows(path)


def _xlsx_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    from .xlsx import iter_xlsx_notes

    return iter_xlsx_notes(path, options)


def load_fhir() -> object:
    """Import :mod:`alia_clin.fhir` (E502 when it is not available)."""
    try:
        return importlib.import_module("alia_clin.fhir")
    except ImportError:
        raise AliaClinValueError(
            ErrorCode.E502, fmt="fhir-ndjson", module="alia_clin.fhir", hint="an alia_clin with FHIR support"
        ) from None


def _fhir_reader(path: Path, options: ReaderOptions) -> Iterator[NoteRecord]:
    fhir = load_fhir()
    iter_ndjson_notes = getattr(fhir, "iter_ndjson_notes", None)
    if iter_ndjson_notes is None:
        raise AliaClinValueError(
            ErrorCode.E502,
            fmt="fhir-ndjson",
            module="alia_clin.fhir.iter_ndjson_notes",
            hint="an alia_clin with FHIR support",
        )
    records: Iterator[NoteRecord] = iter_ndjson_notes(path, binaries=options.binaries)
    return records


for _fmt in (
    InputFormat("txt", _folder_reader, folder=True, copy_format="text-folder", count=_folder_count),
    InputFormat("brat", _folder_reader, folder=True, copy_format="text-folder", count=_folder_count),
    InputFormat("reports", _reports_reader, folder=True, copy_format="text-folder", count=_reports_count),
    InputFormat("csv", _csv_reader, copy_format="csv"),
    InputFormat("tsv", _tsv_reader, copy_format="csv"),
    InputFormat("jsonl", _jsonl_reader, copy_format="jsonl"),
    InputFormat("parquet", _parquet_reader, copy_format="parquet", count=_parquet_count),
    InputFormat("xlsx", _xlsx_reader, copy_format="jsonl"),
    InputFormat("fhir-ndjson", _fhir_reader),
):
    register_reader(_fmt)

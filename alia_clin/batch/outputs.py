"""The output-format registry of ``alia-clin process`` and the built-in formats.

An :class:`OutputFormat` renders one processed Doc (or one bad record) into a payload inside
the worker (``render`` / ``render_failed``), writes one chunk's payloads atomically in the main
process (``write_part``) and merges the parts once every chunk is done (``finalize``).

Built in: ``documents`` and ``errors`` (always on), ``brat``, ``deid-text``, ``text``, ``jsonl``
(annotations.jsonl), ``entities-csv`` / ``entities-parquet`` (the entity table),
``deid-copy`` (the export in its own format, only the text column de-identified), and
``fhir-ndjson`` / ``fhir-bundle``, which call :func:`alia_clin.fhir.doc_to_bundle` through a
lazy import (coded error E503 when :mod:`alia_clin.fhir` is missing). Aggregate outputs are
per-chunk part files concatenated in chunk order at the end; per-note files (``.ann``,
``.txt``) are written atomically one by one. Rewriting a chunk overwrites the same files, so
a chunk redone after a kill never duplicates anything.
"""

from __future__ import annotations

import csv
import importlib
import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from ..errors import AliaClinValueError, ErrorCode
from ..io.atomic import atomic_open, atomic_write_text
from ..io.entity_table import ENTITY_COLUMNS, arrow_schema, entity_rows
from ..io.folders import NoteRecord, text_encoding
from ..io.writers import deidentified_text, doc_to_brat, doc_to_record
from .layout import RunLayout
from .settings import BatchSettings


def _deid_text(doc: Doc, settings: BatchSettings) -> str:
    return deidentified_text(doc, settings.operator, secret=settings.secret, patient_key=doc._.patient_id)


def _concat(parts: list[Path], target: Path, *, head: bytes = b"") -> None:
    """Write ``head`` and then every part, byte for byte, to ``target`` atomically."""
    with atomic_open(target, "wb", durable=True) as out:
        out.write(head)
        for part in parts:
            with part.open("rb") as fh:
                shutil.copyfileobj(fh, out, 1 << 20)


class OutputFormat:
    """One output format (see the module docstring). Subclasses set ``name``."""

    name = ""

    def check(self, settings: BatchSettings) -> None:
        """Raise a coded error when this format cannot be written for ``settings``."""

    def bind(self, nlp: Any) -> None:
        """Called once per process with the loaded pipeline (before any ``render``)."""

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        """The payload of one processed note (None: nothing to write)."""
        return None

    def render_failed(self, rec: NoteRecord, settings: BatchSettings) -> Any:
        """The payload of one bad record (None: nothing to write)."""
        return None

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        """Write one chunk's payloads (atomically)."""

    def finalize(self, layout: RunLayout, chunks: list[int], settings: BatchSettings) -> None:
        """Merge the parts of ``chunks`` into the final outputs (atomically)."""


class LinesFormat(OutputFormat):
    """JSON lines, one (or more) per note, merged into ``OUT/<filename>``."""

    filename = ""

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        with atomic_open(layout.part(self.name, chunk, ".jsonl"), durable=True) as fh:
            for line in payloads:
                fh.write(line + "\n")

    def finalize(self, layout: RunLayout, chunks: list[int], settings: BatchSettings) -> None:
        _concat(layout.chunk_parts(self.name, chunks, ".jsonl"), layout.out / self.filename)


class Documents(LinesFormat):
    """``documents.jsonl``: one line per record: id, status, tasks, ``hf_risk`` when scored,
    ``markup`` (``rtf`` / ``html`` / ``cda`` / ``docx`` / ``pdf``) when the note was converted to plain
    text on reading."""

    name = "documents"
    filename = "documents.jsonl"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        record: dict[str, Any] = {
            "id": rec.id,
            "status": "ok",
            "tasks": list(settings.tasks),
            "language": doc._.language,
        }
        if "HEART_FAILURE" in doc.cats:
            record["hf_risk"] = float(doc.cats["HEART_FAILURE"])
        if rec.meta and rec.meta.get("markup"):
            record["markup"] = rec.meta["markup"]
        return json.dumps(record)

    def render_failed(self, rec: NoteRecord, settings: BatchSettings) -> Any:
        return json.dumps({"id": rec.id, "status": "error", "error": rec.error_code or "error"})


class Errors(LinesFormat):
    """``errors.jsonl``: one line per bad record: id, position, code, reason (never text)."""

    name = "errors"
    filename = "errors.jsonl"

    def render_failed(self, rec: NoteRecord, settings: BatchSettings) -> Any:
        return json.dumps(
            {"id": rec.id, "position": rec.position, "code": rec.error_code or "error", "reason": rec.error}
        )


class Annotations(LinesFormat):
    """``annotations.jsonl``: offsets, labels, codes and assertions, without span text."""

    name = "jsonl"
    filename = "annotations.jsonl"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        return json.dumps(doc_to_record(doc), ensure_ascii=False)


class PerNoteFiles(OutputFormat):
    """One file per note in ``OUT/`` (payload: ``(file name, content)``)."""

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        for filename, content in payloads:
            atomic_write_text(layout.out / filename, content)


class Brat(PerNoteFiles):
    """``OUT/<id>.ann`` for every record (empty for a bad one)."""

    name = "brat"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        return (f"{rec.id}.ann", doc_to_brat(doc))

    def render_failed(self, rec: NoteRecord, settings: BatchSettings) -> Any:
        return (f"{rec.id}.ann", "")


class DeidText(PerNoteFiles):
    """``OUT/<id>.txt``: the de-identified note (operator of the run)."""

    name = "deid-text"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        return (f"{rec.id}.txt", _deid_text(doc, settings))


class PlainText(OutputFormat):
    """``OUT/text/<id>.txt``: the note text every offset refers to, after decoding and markup
    conversion (an RTF / HTML / CDA / Word / PDF report, a CSV cell). Put it beside ``<id>.ann`` to view the
    BRAT output of notes that were not ``.txt`` files. It is the source note, PHI included."""

    name = "text"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        return (f"{rec.id}.txt", doc.text)

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        for filename, content in payloads:
            atomic_write_text(layout.out / "text" / filename, content)


class EntitiesCsv(OutputFormat):
    """``OUT/entities.csv``: the entity table (header once, then every chunk's rows)."""

    name = "entities-csv"
    filename = "entities.csv"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        return entity_rows(doc, text_policy=settings.entity_text)

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        with atomic_open(layout.part(self.name, chunk, ".csv"), durable=True) as fh:
            writer = csv.DictWriter(fh, fieldnames=ENTITY_COLUMNS)
            for rows in payloads:
                writer.writerows(rows)

    def finalize(self, layout: RunLayout, chunks: list[int], settings: BatchSettings) -> None:
        head = (",".join(ENTITY_COLUMNS) + "\r\n").encode("utf-8")
        _concat(layout.chunk_parts(self.name, chunks, ".csv"), layout.out / self.filename, head=head)


def _pyarrow(fmt: str) -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise AliaClinValueError(
            ErrorCode.E503, fmt=fmt, module="pyarrow", hint="alia-clin[parquet]"
        ) from None
    return pyarrow


def _merge_parquet(parts: list[Path], target: Path, schema: Any) -> None:
    """Stream the row groups of every part into one Parquet file, atomically."""
    import pyarrow.parquet as pq

    with atomic_open(target, "wb", durable=True) as fh, pq.ParquetWriter(fh, schema) as writer:
        for part in parts:
            pf = pq.ParquetFile(str(part))
            for i in range(pf.num_row_groups):
                writer.write_table(pf.read_row_group(i).cast(schema))


def _write_parquet_part(path: Path, rows: list[dict[str, Any]], schema: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows, schema=schema)
    with atomic_open(path, "wb", durable=True) as fh:
        pq.write_table(table, fh)


class EntitiesParquet(EntitiesCsv):
    """``OUT/entities.parquet``: the entity table with typed columns (needs pyarrow)."""

    name = "entities-parquet"
    filename = "entities.parquet"

    def check(self, settings: BatchSettings) -> None:
        _pyarrow(self.name)

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        rows = [row for rows in payloads for row in rows]
        _write_parquet_part(layout.part(self.name, chunk, ".parquet"), rows, arrow_schema())

    def finalize(self, layout: RunLayout, chunks: list[int], settings: BatchSettings) -> None:
        parts = layout.chunk_parts(self.name, chunks, ".parquet")
        _merge_parquet(parts, layout.out / self.filename, arrow_schema())


class DeidCopy(OutputFormat):
    """The export itself with only the text column de-identified, in the input's format.

    CSV/TSV → ``OUT/<stem>.deid<suffix>`` (same delimiter, quoting, encoding and BOM); JSONL and
    Excel → ``OUT/<stem>.deid.jsonl``; Parquet → ``OUT/<stem>.deid.parquet`` (same schema); a folder of
    notes → ``OUT/deid/<id>.txt`` (in the notes' encoding, ``--encoding``). A bad record keeps its
    row with the text emptied (null in Parquet / JSON); a malformed row that could not be parsed is
    left out (see errors.jsonl).
    """

    name = "deid-copy"

    def check(self, settings: BatchSettings) -> None:
        if settings.copy_format is None:
            raise AliaClinValueError(
                ErrorCode.E504,
                fmt=self.name,
                input_format=settings.input_format,
                reason="no copy writer for this input format",
            )
        if settings.copy_format == "parquet":
            _pyarrow(self.name)

    def _row(self, rec: NoteRecord, text: str | None, settings: BatchSettings) -> dict[str, Any] | None:
        if not rec.meta or not isinstance(rec.meta.get("row"), dict):
            return None
        row = dict(rec.meta["row"])
        if text is None:
            row[settings.text_col] = "" if settings.copy_format == "csv" else None
        else:
            row[settings.text_col] = text
        return row

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        text = _deid_text(doc, settings)
        if settings.copy_format == "text-folder":
            return (f"{rec.id}.txt", text)
        return self._row(rec, text, settings)

    def render_failed(self, rec: NoteRecord, settings: BatchSettings) -> Any:
        if settings.copy_format == "text-folder":
            return None
        return self._row(rec, None, settings)

    def _target(self, settings: BatchSettings, out: Path) -> Path:
        src = Path(settings.input_path)
        suffix = {"csv": src.suffix or ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}[
            str(settings.copy_format)
        ]
        return out / f"{src.stem}.deid{suffix}"

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        fmt = settings.copy_format
        if fmt == "text-folder":
            opts = settings.reader_options
            codec = text_encoding(opts.encoding if opts is not None else "utf-8")
            for filename, content in payloads:
                atomic_write_text(layout.out / "deid" / filename, content, encoding=codec)
            return
        rows = [r for r in payloads if r is not None]
        if fmt == "jsonl":
            with atomic_open(layout.part(self.name, chunk, ".jsonl"), durable=True) as fh:
                for row in rows:
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            from ..io.tabular import csv_dialect, read_header

            src, opts = Path(settings.input_path), settings.reader_options
            assert opts is not None
            dialect = {k: v for k, v in csv_dialect(src, opts).items() if k != "strict"}
            with atomic_open(
                layout.part(self.name, chunk, ".csv"),
                encoding=_plain_encoding(opts.encoding),
                errors="surrogateescape",
                durable=True,
            ) as fh:
                writer = csv.DictWriter(fh, fieldnames=read_header(src, opts), **dialect)  # type: ignore[arg-type]
                writer.writerows(rows)
        elif fmt == "parquet":
            _write_parquet_part(layout.part(self.name, chunk, ".parquet"), rows, _source_schema(settings))

    def finalize(self, layout: RunLayout, chunks: list[int], settings: BatchSettings) -> None:
        fmt = settings.copy_format
        target = self._target(settings, layout.out) if fmt != "text-folder" else None
        if fmt == "jsonl" and target is not None:
            _concat(layout.chunk_parts(self.name, chunks, ".jsonl"), target)
        elif fmt == "csv" and target is not None:
            import io

            from ..io.tabular import csv_dialect, read_header

            src, opts = Path(settings.input_path), settings.reader_options
            assert opts is not None
            dialect = {k: v for k, v in csv_dialect(src, opts).items() if k != "strict"}
            buf = io.StringIO(newline="")
            csv.writer(buf, **dialect).writerow(read_header(src, opts))  # type: ignore[arg-type]
            with src.open("rb") as fh:
                bom = b"\xef\xbb\xbf" if fh.read(3) == b"\xef\xbb\xbf" else b""
            head = bom + buf.getvalue().encode(_plain_encoding(opts.encoding), errors="surrogateescape")
            _concat(layout.chunk_parts(self.name, chunks, ".csv"), target, head=head)
        elif fmt == "parquet" and target is not None:
            _merge_parquet(
                layout.chunk_parts(self.name, chunks, ".parquet"), target, _source_schema(settings)
            )


def _plain_encoding(encoding: str) -> str:
    """The encoding for data after the header (a BOM is written once, at the very start)."""
    return "utf-8" if encoding.lower().replace("_", "-") == "utf-8-sig" else encoding


def _source_schema(settings: BatchSettings) -> Any:
    import pyarrow.parquet as pq

    return pq.ParquetFile(settings.input_path).schema_arrow


def import_fhir(fmt: str) -> Any:
    """Import :mod:`alia_clin.fhir` for output ``fmt`` (E503 when missing)."""
    try:
        module = importlib.import_module("alia_clin.fhir")
    except ImportError:
        module = None
    if module is None or not hasattr(module, "doc_to_bundle"):
        raise AliaClinValueError(
            ErrorCode.E503,
            fmt=fmt,
            module="alia_clin.fhir.doc_to_bundle",
            hint="an alia_clin with FHIR support",
        )
    return module


def bundle_json(bundle: Any) -> dict[str, Any]:
    """A Bundle (fhir.resources model or dict) as a JSON object."""
    if isinstance(bundle, dict):
        return bundle
    for method in ("model_dump_json", "json"):
        fn = getattr(bundle, method, None)
        if fn is not None:
            loaded: dict[str, Any] = json.loads(fn())
            return loaded
    raise TypeError(f"cannot serialize a {type(bundle).__name__} as JSON")


class _FhirFormat(OutputFormat):
    """Shared by the FHIR outputs: the policy (operator and secret of the run) and the Device
    of the loaded pipeline (name, version, model hashes), computed once per process."""

    def __init__(self) -> None:
        self._device: Any = None

    def check(self, settings: BatchSettings) -> None:
        import_fhir(self.name)

    def bind(self, nlp: Any) -> None:
        self._device = import_fhir(self.name).device_info(nlp)

    def bundle(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> dict[str, Any]:
        fhir = import_fhir(self.name)
        operator = settings.operator if settings.operator in FHIR_OPERATORS else "tag"
        policy = fhir.FhirPolicy(secret=settings.secret, operator=operator)
        kwargs: dict[str, Any] = {"policy": policy}
        if self._device is not None:
            kwargs["device"] = self._device
        return bundle_json(fhir.doc_to_bundle(doc, **kwargs))


#: Operators the FHIR DocumentReference text accepts (others fall back to ``tag``).
FHIR_OPERATORS = ("tag", "mask", "redact", "surrogate")


class FhirBundle(_FhirFormat, LinesFormat):
    """``OUT/bundles.ndjson``: one FHIR Bundle per processed note (``alia_clin.fhir``)."""

    name = "fhir-bundle"
    filename = "bundles.ndjson"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        return json.dumps(self.bundle(doc, rec, settings), ensure_ascii=False)


#: Resource types shared by many notes (the pseudonymous Patient, the pipeline's Device):
#: written once per id in the Bulk Data files.
SHARED_TYPES = ("Patient", "Device")


class FhirNdjson(_FhirFormat):
    """``OUT/<ResourceType>.ndjson`` (FHIR Bulk Data layout): the entries of each note's Bundle
    (``alia_clin.fhir.doc_to_bundle``), one file per resource type; Patient and Device once per id."""

    name = "fhir-ndjson"

    def render(self, doc: Doc, rec: NoteRecord, settings: BatchSettings) -> Any:
        by_type = import_fhir(self.name).resources_by_type(self.bundle(doc, rec, settings))
        return [
            (rtype, json.dumps(res, ensure_ascii=False))
            for rtype, resources in by_type.items()
            for res in resources
        ]

    def write_part(self, layout: RunLayout, chunk: int, payloads: list[Any], settings: BatchSettings) -> None:
        by_type: dict[str, list[str]] = defaultdict(list)
        for lines in payloads:
            for rtype, line in lines:
                by_type[rtype].append(line)
        for rtype, lines in by_type.items():
            with atomic_open(layout.part(f"{self.name}/{rtype}", chunk, ".ndjson"), durable=True) as fh:
                fh.write("".join(line + "\n" for line in lines))

    def finalize(self, layout: RunLayout, chunks: list[int], settings: BatchSettings) -> None:
        root = layout.part_dir(self.name)
        types = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        for rtype in types:
            parts = layout.chunk_parts(f"{self.name}/{rtype}", chunks, ".ndjson")
            target = layout.out / f"{rtype}.ndjson"
            if rtype in SHARED_TYPES:
                _concat_unique(parts, target)
            else:
                _concat(parts, target)


def _concat_unique(parts: list[Path], target: Path) -> None:
    """Like :func:`_concat`, keeping the first line of every resource id."""
    seen: set[str] = set()
    with atomic_open(target, "w", durable=True) as out:
        for part in parts:
            with part.open(encoding="utf-8") as fh:
                for line in fh:
                    rid = str(json.loads(line).get("id", ""))
                    if rid in seen:
                        continue
                    seen.add(rid)
                    out.write(line)

_OUTPUTS: dict[str, OutputFormat] = {}
#: Formats every run writes, whatever ``--output-format`` says.
ALWAYS = ("documents", "errors")


def register_output(fmt: OutputFormat, *, replace_existing: bool = False) -> None:
    """Add an output format (E510 when the name is taken and ``replace_existing`` is False)."""
    if fmt.name in _OUTPUTS and not replace_existing:
        raise AliaClinValueError(ErrorCode.E510, fmt=fmt.name)
    _OUTPUTS[fmt.name] = fmt


def output_formats() -> list[str]:
    """The names ``--output-format`` accepts."""
    return [name for name in _OUTPUTS if name not in ALWAYS]


def get_output(name: str) -> OutputFormat:
    """The registered output format ``name`` (E011 when unknown)."""
    if name not in _OUTPUTS:
        raise AliaClinValueError(ErrorCode.E011, fmt=name, choices=", ".join(output_formats()))
    return _OUTPUTS[name]


for _out in (
    Documents(),
    Errors(),
    Brat(),
    DeidText(),
    PlainText(),
    Annotations(),
    EntitiesCsv(),
    EntitiesParquet(),
    DeidCopy(),
    FhirNdjson(),
    FhirBundle(),
):
    register_output(_out)

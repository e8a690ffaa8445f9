"""Run a pipeline over a folder of notes with the folder contract of ``alia-clin process``.

Reads ``IN_DIR/*.txt`` (UTF-8, ``newline=""``); writes, for every input, ``OUT_DIR/<stem>.ann``
(``brat``), ``OUT_DIR/<stem>.txt`` (``deid-text``), one line of ``OUT_DIR/annotations.jsonl``
(``jsonl``), always one line of ``OUT_DIR/documents.jsonl`` and, for every bad input, one line
of ``OUT_DIR/errors.jsonl`` (id, code, reason — never text). Notes stream through
``nlp.pipe`` in batches; one bad note never stops the run.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from spacy.language import Language
from spacy.tokens import Doc

from .errors import AliaClinValueError, ErrorCode
from .extensions import install_extensions
from .io.brat import read_ann, write_ann
from .io.folders import NoteRecord, iter_notes
from .io.writers import deidentified_text, doc_to_brat, doc_to_record
from .pipeline.spans import exact_spans

logger = logging.getLogger("alia_clin")

#: Task names of the CLI → the pipes that perform each (the first one is the task's main pipe).
TASK_PIPES: dict[str, tuple[str, ...]] = {
    "deid": ("alia_deid",),
    "ner": ("alia_ner", "alia_measurements"),
    "context": ("alia_context", "alia_sections"),
    "hf_risk": ("alia_hf_risk",),
}
#: Pipes a task needs besides its own (kept on when the task runs, e.g. hf_risk reads sections,
#: measurements and asserted entities).
TASK_REQUIRES: dict[str, tuple[str, ...]] = {
    "hf_risk": ("alia_sections", "alia_measurements", "alia_ner", "alia_context"),
}
INPUT_FORMATS = ("txt", "brat")
OUTPUT_FORMATS = ("brat", "deid-text", "jsonl")


@dataclass
class ProcessSummary:
    """Counts and timing of one run (no note content)."""

    processed: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)

    @property
    def docs_per_s(self) -> float:
        """Processed notes per second of wall time."""
        return self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0


def available_tasks(nlp: Language) -> list[str]:
    """The tasks whose pipe is in ``nlp``, in pipeline order."""
    return [task for task, pipes in TASK_PIPES.items() if any(p in nlp.pipe_names for p in pipes)]


def resolve_tasks(nlp: Language, tasks: Sequence[str] | None) -> list[str]:
    """Validate requested tasks (E009 unknown, E015 not in the pipeline); default: all available."""
    if not tasks:
        return available_tasks(nlp)
    for task in tasks:
        if task not in TASK_PIPES:
            raise AliaClinValueError(ErrorCode.E009, task=task, choices=", ".join(TASK_PIPES))
        if not any(p in nlp.pipe_names for p in TASK_PIPES[task]):
            raise AliaClinValueError(ErrorCode.E015, task=task, pipes=", ".join(nlp.pipe_names))
    return list(tasks)


def pipes_to_disable(nlp: Language, tasks: Sequence[str], *, entities_given: bool) -> list[str]:
    """Task pipes not asked for (other pipes, e.g. the encoder, stay on).

    With entities given, the entity model (``alia_ner``) is off; measurements still run when
    ``ner`` is asked for.
    """
    wanted = {p for t in tasks for p in (*TASK_PIPES[t], *TASK_REQUIRES.get(t, ()))}
    if entities_given:
        wanted.discard("alia_ner")
    task_pipes = {p for pipes in TASK_PIPES.values() for p in pipes}
    return [p for p in nlp.pipe_names if p in task_pipes and p not in wanted]


def _make_doc(nlp: Language, rec: NoteRecord, language: str, entities_from: Path | None) -> Doc:
    assert rec.text is not None
    doc = nlp.make_doc(rec.text)
    doc._.note_id = rec.id
    doc._.patient_id = rec.id
    doc._.language = language
    if entities_from is not None:
        ann = read_ann(entities_from / f"{rec.id}.ann")
        items = [(e.start, e.end, e.label) for e in ann.entities if e.end <= len(rec.text)]
        doc.ents = _non_overlapping(exact_spans(doc, items))
    return doc


def _non_overlapping(spans: list[Any]) -> list[Any]:
    from spacy.util import filter_spans

    return filter_spans(spans)


@dataclass
class _Sinks:
    """Open output files of one run."""

    documents: IO[str]
    errors: IO[str]
    annotations: IO[str] | None


def process_folder(
    nlp: Language,
    in_dir: str | Path,
    out_dir: str | Path,
    *,
    input_format: str = "txt",
    output_formats: Sequence[str] = ("brat",),
    tasks: Sequence[str] | None = None,
    entities_from: str | Path | None = None,
    operator: str = "tag",
    secret: str | None = None,
    language: str = "es",
    batch_size: int = 32,
) -> ProcessSummary:
    """Process every note of ``in_dir`` into ``out_dir`` (see the module docstring)."""
    install_extensions()
    if input_format not in INPUT_FORMATS:
        raise AliaClinValueError(ErrorCode.E012, fmt=input_format, choices=", ".join(INPUT_FORMATS))
    for fmt in output_formats:
        if fmt not in OUTPUT_FORMATS:
            raise AliaClinValueError(ErrorCode.E011, fmt=fmt, choices=", ".join(OUTPUT_FORMATS))
    if "deid-text" in output_formats and Path(out_dir).resolve() == Path(in_dir).resolve():
        raise AliaClinValueError(ErrorCode.E017, path=str(out_dir))
    if operator == "surrogate" and not secret:
        raise AliaClinValueError(ErrorCode.E013)
    run_tasks = resolve_tasks(nlp, tasks)
    ents_dir = Path(entities_from) if entities_from is not None else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = ProcessSummary()
    start = time.perf_counter()
    disabled = pipes_to_disable(nlp, run_tasks, entities_given=ents_dir is not None)
    with ExitStack() as stack:
        sinks = _Sinks(
            documents=stack.enter_context((out / "documents.jsonl").open("w", encoding="utf-8")),
            errors=stack.enter_context((out / "errors.jsonl").open("w", encoding="utf-8")),
            annotations=stack.enter_context((out / "annotations.jsonl").open("w", encoding="utf-8"))
            if "jsonl" in output_formats
            else None,
        )
        stack.enter_context(nlp.select_pipes(disable=disabled))
        good = _good_notes(iter_notes(in_dir), sinks, out, output_formats, summary)
        docs = (_make_doc(nlp, rec, language, ents_dir) for rec in good)
        for doc in nlp.pipe(docs, batch_size=batch_size):
            _write_doc(doc, out, sinks, output_formats, run_tasks, operator, secret)
            summary.processed += 1
    summary.elapsed_s = time.perf_counter() - start
    logger.info(
        "processed %d notes, %d failed, %.1f notes/s", summary.processed, summary.failed, summary.docs_per_s
    )
    return summary


def _good_notes(
    records: Iterator[NoteRecord],
    sinks: _Sinks,
    out: Path,
    output_formats: Sequence[str],
    summary: ProcessSummary,
) -> Iterator[NoteRecord]:
    """Pass readable notes on; record bad ones (errors.jsonl, an empty .ann, documents.jsonl)."""
    for rec in records:
        if rec.error is None:
            yield rec
            continue
        summary.failed += 1
        code = rec.error_code or "error"
        summary.failures[code] = summary.failures.get(code, 0) + 1
        logger.warning("note %s skipped: %s", rec.id, rec.error)
        sinks.errors.write(json.dumps({"id": rec.id, "code": code, "reason": rec.error}) + "\n")
        sinks.documents.write(json.dumps({"id": rec.id, "status": "error", "error": code}) + "\n")
        if "brat" in output_formats:
            write_ann(out / f"{rec.id}.ann", "")


def _write_doc(
    doc: Doc,
    out: Path,
    sinks: _Sinks,
    output_formats: Sequence[str],
    tasks: Sequence[str],
    operator: str,
    secret: str | None,
) -> None:
    note_id = doc._.note_id
    if "brat" in output_formats:
        write_ann(out / f"{note_id}.ann", doc_to_brat(doc))
    if "deid-text" in output_formats:
        with (out / f"{note_id}.txt").open("w", encoding="utf-8", newline="") as fh:
            fh.write(deidentified_text(doc, operator, secret=secret))
    if sinks.annotations is not None:
        sinks.annotations.write(json.dumps(doc_to_record(doc), ensure_ascii=False) + "\n")
    record: dict[str, Any] = {"id": note_id, "status": "ok", "tasks": list(tasks)}
    if "HEART_FAILURE" in doc.cats:
        record["hf_risk"] = float(doc.cats["HEART_FAILURE"])
    sinks.documents.write(json.dumps(record) + "\n")

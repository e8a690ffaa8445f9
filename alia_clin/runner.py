"""Run a pipeline over a folder of notes (or an export) with the contract of ``alia-clin process``.

Reads ``IN_DIR/*.txt`` (UTF-8, ``newline=""``) or a CSV/TSV, JSONL, Parquet or FHIR NDJSON
export; writes, for every input, ``OUT_DIR/<stem>.ann`` (``brat``), ``OUT_DIR/<stem>.txt``
(``deid-text``), one line of ``OUT_DIR/annotations.jsonl`` (``jsonl``), always one line of
``OUT_DIR/documents.jsonl`` and, for every bad input, one line of ``OUT_DIR/errors.jsonl``
(id, position, code, reason — never text); other formats are in :mod:`alia_clin.batch.outputs`.
Notes stream in chunks through ``nlp.pipe``; one bad note never stops the run, and a killed
run resumes where it stopped (:mod:`alia_clin.batch.run`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spacy.language import Language

from .batch.run import BatchSummary, run_batch
from .errors import AliaClinValueError, ErrorCode

#: The summary of a run (kept under its old name).
ProcessSummary = BatchSummary

logger = logging.getLogger("alia_clin")

#: Task names of the CLI → the pipes that perform each (the first one is the task's main pipe).
TASK_PIPES: dict[str, tuple[str, ...]] = {
    "deid": ("alia_deid",),
    "ner": ("alia_ner", "alia_terms", "alia_measurements"),
    "context": ("alia_context", "alia_sections"),
    "hf_risk": ("alia_hf_risk",),
}
#: Pipes a task needs besides its own (kept on when the task runs, e.g. hf_risk reads sections,
#: measurements and asserted entities).
TASK_REQUIRES: dict[str, tuple[str, ...]] = {
    "hf_risk": ("alia_sections", "alia_measurements", "alia_ner", "alia_terms", "alia_codes", "alia_context"),
}


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

    With entities given, the entity finders (``alia_ner``, ``alia_terms``) are off;
    measurements still run when ``ner`` is asked for.
    """
    wanted = {p for t in tasks for p in (*TASK_PIPES[t], *TASK_REQUIRES.get(t, ()))}
    if entities_given:
        wanted.discard("alia_ner")
        wanted.discard("alia_terms")
    task_pipes = {p for pipes in TASK_PIPES.values() for p in pipes}
    return [p for p in nlp.pipe_names if p in task_pipes and p not in wanted]


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
    language: str = "auto",
    batch_size: int = 32,
    **batch_options: Any,
) -> ProcessSummary:
    """Process every note of ``in_dir`` into ``out_dir`` (see the module docstring).

    ``in_dir`` may also be a CSV/TSV, JSONL, Parquet or FHIR NDJSON export (``input_format``
    ``auto`` picks by suffix); ``batch_options`` go to :func:`alia_clin.batch.run.run_batch`
    (``reader_options``, ``max_chars``, ``chunk_size``, ``workers``, ``model``, ``force``,
    ``progress``, ``entity_text``).
    """
    return run_batch(
        nlp, in_dir, out_dir, input_format=input_format, output_formats=output_formats, tasks=tasks,
        entities_from=entities_from, operator=operator, secret=secret, language=language,
        batch_size=batch_size, **batch_options,
    )

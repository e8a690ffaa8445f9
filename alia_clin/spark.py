"""Run alia_clin on a Spark DataFrame (extra ``alia-clin[spark]``: PySpark 4, pandas<3, pyarrow).

``annotate(df, text_col=…, id_col=…, tasks=…, output=…)`` returns a new DataFrame computed with
``DataFrame.mapInPandas``: each Python worker loads the pipeline once (cached per worker
process, keyed by model and tasks; Spark reuses Python workers by default) and streams its
partition through ``nlp.pipe`` in Arrow batches. Outputs (typed columns):

- ``entities``: one row per PHI span or clinical entity — the entity table of
  :mod:`alia_clin.io.entity_table` (``note_id``, ``kind``, ``label``, ``start``, ``end``,
  ``text`` per PHI policy, ``assertion``, ``code``, ``codings``);
- ``deid``: one row per note — ``note_id``, ``language``, ``deid_text``, ``status``, ``error``;
- ``fhir``: one row per note — ``note_id``, ``bundle`` (FHIR Bundle JSON from
  :func:`alia_clin.fhir.doc_to_bundle`), ``status``, ``error``.

A note that is a whole RTF, HTML or HL7 CDA document is read as its plain text (``markup``);
``plain_text(df, …)`` returns that text (``note_id``, ``markup``, ``text``, ``status``, ``error``),
which the offsets of ``entities`` refer to, without running a pipeline.
Bad notes (null/empty text, oversize, unreadable markup, a pipe error) give ``status = "error"``
and an error code in the per-note outputs and no rows in ``entities``; never their text. Nothing
is downloaded: ship the wheel and the model directory to the cluster (see the README).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .errors import AliaClinValueError, ErrorCode

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

OUTPUTS = ("entities", "deid", "fhir")
ENTITIES_SCHEMA = (
    "note_id string, kind string, label string, start long, end long, text string, "
    "assertion string, code string, codings string"
)
DEID_SCHEMA = "note_id string, language string, deid_text string, status string, error string"
FHIR_SCHEMA = "note_id string, bundle string, status string, error string"
TEXT_SCHEMA = "note_id string, markup string, text string, status string, error string"
SCHEMAS = {"entities": ENTITIES_SCHEMA, "deid": DEID_SCHEMA, "fhir": FHIR_SCHEMA}


def _columns(schema: str) -> list[str]:
    """The column names of a DDL schema string."""
    return [field.split()[0] for field in schema.split(", ")]


def _read_note(text: Any, markup: str) -> tuple[str | None, str | None, str | None]:
    """``(plain text, markup it was written in, error code)`` of one text cell: ``missing_text``
    when it is not a string, ``malformed`` when its markup cannot be read."""
    from .io.markup import to_plain_text

    if not isinstance(text, str):
        return None, None, "missing_text"
    try:
        plain, kind = to_plain_text(text, markup)
    except ValueError:
        return None, None, "malformed"
    return plain, kind, None


def _check_input(df: DataFrame, text_col: str, id_col: str, markup: str) -> None:
    """E511 unless both columns are in ``df`` and ``markup`` is a ``--markup`` choice."""
    from .io.options import MARKUPS

    for col in (text_col, id_col):
        if col not in df.columns:
            raise AliaClinValueError(ErrorCode.E511, reason=f"column '{col}' is not in the DataFrame")
    if markup not in MARKUPS:
        raise AliaClinValueError(ErrorCode.E511, reason=f"markup must be one of {', '.join(MARKUPS)}")

_lock = threading.Lock()
_PIPELINES: dict[tuple[str | None, tuple[str, ...] | None], Any] = {}


def _pipeline(model: str | None, tasks: tuple[str, ...] | None) -> tuple[Any, list[str], list[str]]:
    """The worker's pipeline for ``(model, tasks)``, loaded once per process."""
    from . import load
    from .batch.workers import set_torch_threads
    from .runner import pipes_to_disable, resolve_tasks

    key = (model, tasks)
    with _lock:
        if key not in _PIPELINES:
            set_torch_threads(1)
            nlp = load(model)
            run_tasks = resolve_tasks(nlp, tasks)
            disabled = pipes_to_disable(nlp, run_tasks, entities_given=False)
            _PIPELINES[key] = (nlp, run_tasks, disabled)
        nlp, run_tasks, disabled = _PIPELINES[key]
    return nlp, run_tasks, disabled


def _annotate_frames(
    frames: Iterator[pd.DataFrame], *, text_col: str, id_col: str, output: str, model: str | None,
    tasks: tuple[str, ...] | None, language: str, operator: str, secret: str | None, entity_text: str,
    max_chars: int | None, batch_size: int, markup: str = "auto",
) -> Iterator[pd.DataFrame]:
    """The ``mapInPandas`` function: pandas batches of input rows → pandas batches of results."""
    import pandas as pd

    from .batch.processor import make_doc
    from .io.entity_table import entity_rows
    from .io.language import resolve_language
    from .io.writers import deidentified_text

    nlp, _, disabled = _pipeline(model, tasks)
    fhir = None
    if output == "fhir":
        from .batch.outputs import bundle_json, import_fhir

        fhir = import_fhir("fhir")
    for frame in frames:
        ids = ["" if v is None else str(v) for v in frame[id_col].tolist()]
        texts = frame[text_col].tolist()
        errors: dict[int, str] = {}
        good: list[int] = []
        for i, cell in enumerate(texts):
            text, _, error = _read_note(cell, markup)
            texts[i] = text
            if text is None:
                errors[i] = error or "missing_text"
            elif not text.strip():
                errors[i] = "empty"
            elif max_chars is not None and len(text) > max_chars:
                errors[i] = "oversize"
            else:
                good.append(i)
        docs: dict[int, Any] = {}
        with nlp.select_pipes(disable=[p for p in disabled if p in nlp.pipe_names]):
            stream = (
                make_doc(nlp, _record(ids[i], texts[i]), resolve_language(texts[i], None, language), None)
                for i in good
            )
            try:
                for i, doc in zip(good, nlp.pipe(stream, batch_size=batch_size), strict=True):
                    docs[i] = doc
            except Exception:
                for i in good:
                    try:
                        docs[i] = nlp(make_doc(nlp, _record(ids[i], texts[i]),
                                               resolve_language(texts[i], None, language), None))
                    except Exception:
                        errors[i] = "pipeline_error"
        rows: list[dict[str, Any]] = []
        for i in range(len(ids)):
            doc = docs.get(i)
            if output == "entities":
                if doc is not None:
                    rows.extend(entity_rows(doc, text_policy=entity_text))
                continue
            if doc is None:
                base: dict[str, Any] = {"note_id": ids[i], "status": "error", "error": errors.get(i, "error")}
                rows.append({**base, "language": None, "deid_text": None} if output == "deid"
                            else {**base, "bundle": None})
            elif output == "deid":
                rows.append({"note_id": ids[i], "language": doc._.language, "status": "ok", "error": None,
                             "deid_text": deidentified_text(doc, operator, secret=secret,
                                                            patient_key=doc._.patient_id)})
            else:
                import json

                assert fhir is not None
                bundle = json.dumps(bundle_json(fhir.doc_to_bundle(doc)), ensure_ascii=False)
                rows.append({"note_id": ids[i], "bundle": bundle, "status": "ok", "error": None})
        yield pd.DataFrame(rows, columns=_columns(SCHEMAS[output]))


def _plain_frames(
    frames: Iterator[pd.DataFrame], *, text_col: str, id_col: str, markup: str
) -> Iterator[pd.DataFrame]:
    """The ``mapInPandas`` function of :func:`plain_text`."""
    import pandas as pd

    for frame in frames:
        rows: list[dict[str, Any]] = []
        for note_id, cell in zip(frame[id_col].tolist(), frame[text_col].tolist(), strict=True):
            text, kind, error = _read_note(cell, markup)
            rows.append({"note_id": "" if note_id is None else str(note_id), "markup": kind, "text": text,
                         "status": "ok" if error is None else "error", "error": error})
        yield pd.DataFrame(rows, columns=_columns(TEXT_SCHEMA))


def plain_text(
    df: DataFrame, *, text_col: str = "text", id_col: str = "id", markup: str = "auto"
) -> DataFrame:
    """The plain text of each note as :func:`annotate` reads it: one row per input row with
    ``note_id``, ``markup`` (``rtf``, ``html``, ``cda`` or null when the note was not converted),
    ``text``, ``status`` (``ok`` / ``error``) and ``error`` (``missing_text``, ``malformed``).

    The ``start``/``end`` offsets of ``annotate(..., output="entities")`` refer to this text, so a
    note written as RTF or HTML can be joined back to its spans. The text is the source note,
    PHI included. Raises E511 for missing columns or an unknown ``markup``.
    """
    _check_input(df, text_col, id_col, markup)

    def run(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _plain_frames(frames, text_col=text_col, id_col=id_col, markup=markup)

    return df.select(id_col, text_col).mapInPandas(run, schema=TEXT_SCHEMA)


def _record(note_id: str, text: str) -> Any:
    from .io.folders import NoteRecord

    return NoteRecord(note_id, text)


def annotate(
    df: DataFrame,
    *,
    text_col: str = "text",
    id_col: str = "id",
    tasks: Sequence[str] | None = None,
    output: str = "entities",
    model: str | None = None,
    language: str = "auto",
    operator: str = "tag",
    secret: str | None = None,
    entity_text: str = "none",
    max_chars: int | None = None,
    batch_size: int = 32,
    markup: str = "auto",
) -> DataFrame:
    """Annotate the notes of ``df`` (see the module docstring); lazy like every Spark transformation.

    ``model``: a pipeline directory that exists on every worker (default: the embedded model).
    ``markup``: as ``alia-clin process --markup`` (``auto`` turns a note that is a whole RTF, HTML
    or HL7 CDA document into plain text first; offsets and ``deid_text`` refer to that text).
    Raises E511 for an unknown ``output`` or missing columns, E503 for ``fhir`` without
    :mod:`alia_clin.fhir`, E009 for an unknown task.
    """
    from .io.entity_table import check_text_policy
    from .runner import TASK_PIPES

    if output not in OUTPUTS:
        raise AliaClinValueError(ErrorCode.E511, reason=f"output must be one of {', '.join(OUTPUTS)}")
    _check_input(df, text_col, id_col, markup)
    for task in tasks or ():
        if task not in TASK_PIPES:
            raise AliaClinValueError(ErrorCode.E009, task=task, choices=", ".join(TASK_PIPES))
    check_text_policy(entity_text)
    if output == "fhir":
        from .batch.outputs import import_fhir

        import_fhir("fhir")
    if operator == "surrogate" and not secret:
        raise AliaClinValueError(ErrorCode.E013)
    schema = SCHEMAS[output]
    options: dict[str, Any] = {
        "text_col": text_col, "id_col": id_col, "output": output, "model": model,
        "tasks": tuple(tasks) if tasks else None, "language": language, "operator": operator,
        "secret": secret, "entity_text": entity_text, "max_chars": max_chars, "batch_size": batch_size,
        "markup": markup,
    }

    def run(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        return _annotate_frames(frames, **options)

    return df.select(id_col, text_col).mapInPandas(run, schema=schema)

"""Building a trained pipeline's label memory (``alia-clin models label-memory``, and
``alia-clin train`` at save time).

:func:`task_label_memory` builds a :class:`~alia_clin.clinical.label_memory.LabelMemory` from
one task's *training* documents only (so the dev split stays unseen). :func:`write_label_memory`
reads a pipeline folder written by ``alia-clin train`` (its ``training_metrics.json`` names the
``alia_ner`` task, its sources and its dev split) and the corpora, and writes the memory into
the pipeline's ``alia_ner`` folder (``label_memory.json``; an earlier one is replaced). Returns a
summary of counts, never wordings.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import srsly

from ..clinical.label_memory import (
    FIND_SHARE,
    MEMORY_FILE,
    MIN_COUNT,
    MIN_SHARE,
    LabelMemory,
    build_label_memory,
)
from ..errors import AliaClinValueError, ErrorCode
from .corpora import TaskData
from .frozen import read_training_metrics, task_of, training_data_as_trained

logger = logging.getLogger("alia_clin")

COMPONENT = "alia_ner"


def task_label_memory(
    td: TaskData,
    sources: Sequence[str],
    *,
    min_count: int = MIN_COUNT,
    min_share: float = MIN_SHARE,
    find_share: float | None = FIND_SHARE,
) -> LabelMemory:
    """The label memory of task ``td`` from its training documents (``sources``: recorded)."""
    memory = build_label_memory(
        ((ex.text, ex.spans) for ex in td.train),
        labels=td.labels,
        min_count=min_count,
        min_share=min_share,
        find_share=find_share,
        sources=list(sources),
    )
    logger.info(
        "label memory of '%s': %d wordings, %d more for the finder only",
        td.name,
        len(memory.labels),
        len(memory.found),
    )
    return memory


def write_label_memory(
    model_dir: str | Path,
    corpora: str | Path,
    *,
    min_count: int = MIN_COUNT,
    min_share: float = MIN_SHARE,
    find_share: float | None = FIND_SHARE,
) -> dict[str, Any]:
    """Build the label memory of ``model_dir``'s ``alia_ner`` task and write it into
    ``model_dir/alia_ner/``. Raises ``E010`` (no such folder), ``E130`` (not a trained pipeline,
    or no ``alia_ner`` stage or task), ``E107`` (bad ``min_count`` / ``min_share`` / ``find_share``)."""
    model_dir = Path(model_dir)
    metrics = read_training_metrics(model_dir)
    if not (model_dir / COMPONENT).is_dir():
        raise AliaClinValueError(ErrorCode.E130, path=str(model_dir), reason=f"no '{COMPONENT}' stage")
    task_name, task = task_of(metrics, COMPONENT)
    td = training_data_as_trained(metrics, corpora).tasks[task_name]
    memory = task_label_memory(
        td, task["train"], min_count=min_count, min_share=min_share, find_share=find_share
    )
    srsly.write_json(model_dir / COMPONENT / MEMORY_FILE, memory.to_dict())
    return {
        "path": str(model_dir / COMPONENT / MEMORY_FILE),
        "task": task_name,
        "train_documents": len(td.train),
        "wordings": len(memory.labels),
        "by_label": dict(sorted(Counter(memory.labels.values()).items())),
        "finder_only_wordings": len(memory.found),
        "min_count": memory.min_count,
        "min_share": memory.min_share,
        "find_share": memory.find_share,
    }

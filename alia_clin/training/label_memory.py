"""Building a trained pipeline's label memory (``alia-clin models label-memory``).

Reads a pipeline folder written by ``alia-clin train`` (its ``training_metrics.json`` names the
``alia_ner`` task, its sources and its dev split) and the corpora; builds, from the task's
*training* documents only (the same split the encoder was trained with, so dev stays unseen),
a :class:`~alia_clin.clinical.label_memory.LabelMemory`, and writes it into the pipeline's
``alia_ner`` folder (``label_memory.json``; an earlier one is replaced). Returns a summary of
counts, never wordings.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import srsly

from ..clinical.label_memory import MEMORY_FILE, build_label_memory
from ..errors import AliaClinValueError, ErrorCode
from .corpora import TaskSources, build_training_data
from .frozen import METRICS_FILE, _task_of

COMPONENT = "alia_ner"


def write_label_memory(
    model_dir: str | Path, corpora: str | Path, *, min_count: int = 5, min_share: float = 0.9
) -> dict[str, Any]:
    """Build the label memory of ``model_dir``'s ``alia_ner`` task and write it into
    ``model_dir/alia_ner/``. Raises ``E010`` (no such folder), ``E130`` (not a trained pipeline,
    or no ``alia_ner`` stage or task), ``E107`` (bad ``min_count`` / ``min_share``)."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise AliaClinValueError(ErrorCode.E010, path=str(model_dir))
    metrics_file = model_dir / METRICS_FILE
    if not metrics_file.is_file():
        raise AliaClinValueError(
            ErrorCode.E130, path=str(metrics_file), reason="not a pipeline written by 'alia-clin train'"
        )
    if not (model_dir / COMPONENT).is_dir():
        raise AliaClinValueError(ErrorCode.E130, path=str(model_dir), reason=f"no '{COMPONENT}' stage")
    metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    task_name, task = _task_of(metrics, COMPONENT)
    # every task, as the encoder's training read them: the same dev split and the same train
    # documents removed for being linked to another task's dev documents
    all_tasks = metrics["config"]["tasks"]
    data = build_training_data(corpora, {name: TaskSources.from_config(t) for name, t in all_tasks.items()})
    td = data.tasks[task_name]
    memory = build_label_memory(
        ((ex.text, ex.spans) for ex in td.train),
        labels=td.labels,
        min_count=min_count,
        min_share=min_share,
        sources=list(task["train"]),
    )
    srsly.write_json(model_dir / COMPONENT / MEMORY_FILE, memory.to_dict())
    return {
        "path": str(model_dir / COMPONENT / MEMORY_FILE),
        "task": task_name,
        "train_documents": len(td.train),
        "wordings": len(memory.labels),
        "by_label": dict(sorted(Counter(memory.labels.values()).items())),
        "min_count": min_count,
        "min_share": min_share,
    }

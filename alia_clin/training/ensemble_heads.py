"""Joining heads trained on the same frozen encoder into one ensemble head
(``alia-clin models ensemble-heads``).

Reads a pipeline folder (``model_dir``) and one or more pipelines written by
``alia-clin models retrain-head`` from it (``others``: same encoder weights, checked by their
SHA-256); writes a **new** pipeline folder: a copy of ``model_dir`` whose component
(``alia_ner`` or ``alia_deid``) holds a :class:`~alia_clin.encoder.ensemble.TaggerEnsemble` of
its own head (or of its ensemble's members) followed by each other pipeline's head, plus each
added head's training report as ``head_training_<component>_member_<i>.json``. Nothing is
trained or scored here: the members' dev scores are in their reports.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..encoder.ensemble import TaggerEnsemble, load_tagger
from ..encoder.heads import WordTagger
from ..encoder.loading import weights_sha256
from ..errors import AliaClinValueError, ErrorCode
from .frozen import COMPONENTS, head_dir_name, head_metrics_file

ENCODER_WEIGHTS_DIR = Path("alia_encoder") / "model"


def _members(pipeline: Path, component: str) -> list[WordTagger]:
    head_dir = pipeline / component / head_dir_name(component)
    if not head_dir.is_dir():
        raise AliaClinValueError(ErrorCode.E130, path=str(pipeline), reason=f"'{component}' has no head")
    head = load_tagger(head_dir)
    return list(head.members) if isinstance(head, TaggerEnsemble) else [head]


def member_report_file(component: str, index: int) -> str:
    """``head_training_<component>_member_<index>.json``: the training report of member ``index``."""
    return head_metrics_file(component).removesuffix(".json") + f"_member_{index}.json"


def ensemble_heads(
    model_dir: str | Path,
    others: Sequence[str | Path],
    out_dir: str | Path,
    *,
    component: str = "alia_ner",
) -> dict[str, Any]:
    """Write ``model_dir`` with ``component``'s head replaced by the ensemble of its head(s) and
    the heads of ``others`` to ``out_dir`` (a new folder). Returns a summary (members, sources).

    Raises ``E010`` (a folder is missing), ``E130`` (bad component, no head, no ``others``, or an
    other pipeline's encoder differs from ``model_dir``'s), ``E106`` (heads differ in tags,
    layers or width), ``E137`` (``out_dir`` exists).
    """
    model_dir, out_dir = Path(model_dir), Path(out_dir)
    other_dirs = [Path(o) for o in others]
    if component not in COMPONENTS:
        raise AliaClinValueError(
            ErrorCode.E130, path=str(model_dir), reason=f"component must be one of {', '.join(COMPONENTS)}"
        )
    if not other_dirs:
        raise AliaClinValueError(ErrorCode.E130, path=str(model_dir), reason="no other pipeline given")
    for d in [model_dir, *other_dirs]:
        if not d.is_dir():
            raise AliaClinValueError(ErrorCode.E010, path=str(d))
    if out_dir.exists():
        raise AliaClinValueError(ErrorCode.E137, path=str(out_dir))
    digest = weights_sha256(model_dir / ENCODER_WEIGHTS_DIR)
    for d in other_dirs:
        if weights_sha256(d / ENCODER_WEIGHTS_DIR) != digest:
            raise AliaClinValueError(
                ErrorCode.E130, path=str(d), reason="its encoder weights differ from the first pipeline's"
            )
    members = _members(model_dir, component)
    n_own = len(members)
    sources = [str(model_dir)] * n_own
    added = [(d, _members(d, component)) for d in other_dirs]
    for d, heads in added:
        members.extend(heads)
        sources.extend([str(d)] * len(heads))
    ensemble = TaggerEnsemble(members)  # E106 when tags, layers or widths differ

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        target = tmp / "pipeline"
        shutil.copytree(model_dir, target)
        head_dir = target / component / head_dir_name(component)
        shutil.rmtree(head_dir)
        ensemble.save(head_dir)
        index = n_own
        for d, heads in added:
            report = d / head_metrics_file(component)
            if len(heads) == 1 and report.is_file():  # an ensemble's report covers no single member
                shutil.copyfile(report, target / member_report_file(component, index))
            index += len(heads)
        os.replace(target, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"component": component, "members": len(members), "sources": sources, "encoder_sha256": digest}

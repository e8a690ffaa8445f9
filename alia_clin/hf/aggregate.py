"""Patient-level heart-failure risk over several notes processed by ``alia_hf_risk``.

Reads ``doc._.hf_risk``, ``doc._.hf_evidence``, ``doc._.note_id``, ``doc._.patient_id`` and
``doc._.note_date`` of each note; returns a dict (nothing is written to the docs).

With the model (``pipe``: the ``alia_hf_risk`` component, or its :class:`HfRiskModel`) the
evidence of every note is pooled (each criterion counts once, at its best assertion; the highest
peptide, the lowest LVEF, the latest age) and scored by the same calibrated model, the text part
being the mean of the notes' text logits: evidence spread over several notes adds up. Without
it, the patient probability is the highest note probability (``method: "max"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from spacy.tokens import Doc

from ..errors import AliaClinValueError, ErrorCode
from .evidence import Evidence
from .features import evidence_features
from .model import HfRiskModel

_LEVEL_DEFAULT = {"moderate": 0.2, "high": 0.5}


def _level(p: float, thresholds: dict[str, float]) -> str:
    if p >= thresholds["high"]:
        return "high"
    return "moderate" if p >= thresholds["moderate"] else "low"


def _items(doc: Doc) -> list[Evidence]:
    out = []
    for r in doc._.hf_evidence or []:
        out.append(
            Evidence(
                r["criterion"],
                r["group"],
                r.get("start"),
                r.get("end"),
                assertion=r.get("assertion", "present"),
                value=r.get("value"),
                unit=r.get("unit"),
                source=r.get("source", "text"),
            )
        )
    return out


def aggregate_patient(docs: Sequence[Doc], pipe: Any = None) -> dict[str, Any]:
    """The patient-level risk of ``docs`` (notes of one patient, already scored).

    Returns ``{"patient_id", "probability", "level", "thresholds", "method", "notes": [{"note_id",
    "date", "probability"}], "evidence": [... each with "note_id" ...]}`` with evidence ordered by
    contribution. Raises ``E302`` when a doc was not scored or the docs name different patients.
    """
    if not docs or any(d._.hf_risk is None for d in docs):
        raise AliaClinValueError(
            ErrorCode.E302, field="docs", reason="every note must be scored by alia_hf_risk"
        )
    patients = {d._.patient_id for d in docs if d._.patient_id is not None}
    if len(patients) > 1:
        raise AliaClinValueError(
            ErrorCode.E302, field="docs", reason=f"notes of {len(patients)} patients given"
        )
    thresholds = dict(docs[0]._.hf_risk.get("thresholds") or _LEVEL_DEFAULT)
    model: HfRiskModel | None = None
    applied = [d._.hf_risk.get("applied") for d in docs]
    # Under the stage's "auto" setting the patient is scored by the explicit model when any
    # note asserts the diagnosis, else by the early-detection model (as each note was).
    chosen = "explicit" if "explicit" in applied else "early"
    if isinstance(pipe, HfRiskModel):
        model = pipe
    elif pipe is not None:
        model = pipe.active_model(chosen if pipe.cfg.get("setting") == "auto" else None)
    notes = [
        {"note_id": d._.note_id, "date": d._.note_date, "probability": float(d._.hf_risk["probability"])}
        for d in docs
    ]
    # Age: the note with the latest date (or the last note) wins, like structured context.
    order = sorted(range(len(docs)), key=lambda i: (docs[i]._.note_date or "", i))
    pooled: list[Evidence] = []
    for i in order:
        pooled.extend(_items(docs[i]))
    if model is not None:
        scored = [d for d, a in zip(docs, applied, strict=True) if a in (None, model.setting)] or list(docs)
        text_mean = sum(float(d._.hf_risk.get("logit", {}).get("text", 0.0)) for d in scored) / len(scored)
        logit = model.intercept + float(model.evidence_logits(evidence_features(pooled))[0]) + text_mean
        probability = float(model.calibrate(np.asarray([logit]))[0])
        method = "pooled-evidence"
    else:
        probability = max(n["probability"] for n in notes)
        method = "max"
    evidence = []
    for d in docs:
        for r in d._.hf_evidence or []:
            evidence.append({**r, "note_id": d._.note_id})
    evidence.sort(key=lambda r: -float(r.get("contribution", 0.0)))
    return {
        "patient_id": next(iter(patients)) if patients else None,
        "probability": probability,
        "level": _level(probability, thresholds),
        "thresholds": thresholds,
        "method": method,
        "notes": notes,
        "evidence": evidence,
    }

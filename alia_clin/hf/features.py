"""Evidence features: a fixed-length numeric vector from a list of evidence items.

Reads :class:`~alia_clin.hf.evidence.Evidence` items; returns a ``numpy`` vector whose names are
:data:`FEATURE_NAMES` (stable: the classifier's coefficients are stored by name). Items count
by their assertion weight (present/historical 1, uncertain 0.5, negated/hypothetical/family 0),
so negated, family and hypothetical evidence never moves a feature.

Features: one indicator per text criterion (max weight), the numbers of Framingham major and
minor criteria met and whether the Framingham rule (2 major, or 1 major + 2 minor) is met, the
log10 of the highest NT-proBNP/BNP, LVEF below 55 (scaled) when measured, age in decades above
60 and age ≥ 65, and counts of risk factors and HF drug classes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from . import criteria as C
from .evidence import Evidence

_INDICATORS = tuple(c.id for c in C.CRITERIA if c.id != "age")
#: Names of the feature vector, in order.
FEATURE_NAMES: tuple[str, ...] = (
    *(f"has_{c}" for c in _INDICATORS),
    "framingham_major_n",
    "framingham_minor_n",
    "framingham_rule",
    "peptide_log10",
    "peptide_measured",
    "lvef_deficit",
    "lvef_measured",
    "age_decades_over_60",
    "age_65_plus",
    "risk_factor_n",
    "medication_n",
)
_INDEX = {n: i for i, n in enumerate(FEATURE_NAMES)}


def framingham_counts(items: Sequence[Evidence]) -> tuple[float, float]:
    """(major, minor) Framingham criteria met (each criterion once, by its best assertion weight)."""
    best: dict[str, float] = {}
    for e in items:
        if e.group in C.FRAMINGHAM_GROUPS:
            best[e.criterion] = max(best.get(e.criterion, 0.0), e.weight)
    major = sum(w for c, w in best.items() if C.BY_ID[c].group == "framingham_major")
    minor = sum(w for c, w in best.items() if C.BY_ID[c].group == "framingham_minor")
    return float(major), float(minor)


def framingham_score(items: Sequence[Evidence]) -> float:
    """The rule baseline's score: 2 × major + minor criteria met."""
    major, minor = framingham_counts(items)
    return 2.0 * major + minor


def evidence_features(items: Sequence[Evidence]) -> np.ndarray:
    """The feature vector of one document (see the module docstring)."""
    x = np.zeros(len(FEATURE_NAMES), dtype=np.float64)
    best: dict[str, float] = {}
    for e in items:
        best[e.criterion] = max(best.get(e.criterion, 0.0), e.weight)
    for crit, w in best.items():
        key = f"has_{crit}"
        if key in _INDEX:
            x[_INDEX[key]] = w
    major, minor = framingham_counts(items)
    x[_INDEX["framingham_major_n"]] = major
    x[_INDEX["framingham_minor_n"]] = minor
    x[_INDEX["framingham_rule"]] = float(major >= 2 or (major >= 1 and minor >= 2))
    peptides = [
        e.value
        for e in items
        if e.criterion in ("nt_probnp_elevated", "bnp_elevated", "natriuretic_peptide_normal")
        and e.value is not None
        and e.weight > 0
    ]
    if peptides:
        x[_INDEX["peptide_log10"]] = math.log10(max(max(peptides), 1.0))
        x[_INDEX["peptide_measured"]] = 1.0
    lvefs = [
        e.value for e in items if e.criterion.startswith("lvef_") and e.value is not None and e.weight > 0
    ]
    if lvefs:
        x[_INDEX["lvef_deficit"]] = max(0.0, 55.0 - min(lvefs)) / 10.0
        x[_INDEX["lvef_measured"]] = 1.0
    ages = [e.value for e in items if e.criterion == "age" and e.value is not None]
    if ages:
        # Structured context comes last in the list and wins over the text.
        age = ages[-1]
        x[_INDEX["age_decades_over_60"]] = max(0.0, age - 60.0) / 10.0
        x[_INDEX["age_65_plus"]] = float(age >= C.AGE_RISK_MIN)
    x[_INDEX["risk_factor_n"]] = sum(
        w for c, w in best.items() if C.BY_ID[c].group == "risk_factor" and c not in ("age", "male_sex")
    )
    x[_INDEX["medication_n"]] = sum(w for c, w in best.items() if C.BY_ID[c].group == "medication")
    return x

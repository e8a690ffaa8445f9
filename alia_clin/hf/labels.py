"""Heart-failure document labels from the shared corpora: the labelling rules, as code.

A document is **positive** when it asserts a heart-failure diagnosis, by any of these rules:

``codes``      its CodiEsp diagnosis codes (``*D.tsv``) include a heart-failure code of CIE-10-ES:
               I50.* (heart failure), I11.0 (hypertensive heart disease with HF), I13.0 / I13.2
               (hypertensive heart and chronic kidney disease with HF), I09.81 (rheumatic HF),
               I97.13- (postprocedural HF);
``entities``   a gold disease span (CardioCCC ``DISEASE``, DisTEMIST ``ENFERMEDAD``) contains an
               explicit HF mention (:func:`alia_clin.hf.masking.find_hf_mentions`) whose ConText
               assertion is ``present`` or ``historical``;
``mentions``   for a document without gold disease spans (CodiEsp-only documents), an explicit
               HF mention found in the text with assertion ``present`` or ``historical``.

Everything else is **negative**, including documents where HF is only negated ("sin signos de
insuficiencia cardiaca"), hypothetical ("riesgo de insuficiencia cardiaca"), uncertain
("sospecha de IC") or in the family history. Pure functions: no I/O here (see
:mod:`alia_clin.hf.dataset` for reading the corpora).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .masking import find_hf_mentions

#: CIE-10-ES code prefixes (normalized: upper case, no dot) that label a document positive.
HF_CODE_PREFIXES = ("I50", "I110", "I130", "I132", "I0981", "I9713")
#: Assertions of an HF mention that make the document positive.
POSITIVE_ASSERTIONS = frozenset({"present", "historical"})
#: Gold labels that are disease annotations in the corpora used here.
DISEASE_LABELS = frozenset({"DISEASE", "ENFERMEDAD"})


def normalize_code(code: str) -> str:
    """``"i50.9"`` → ``"I509"``."""
    return code.strip().upper().replace(".", "")


def is_hf_code(code: str) -> bool:
    """Whether a CIE-10-ES diagnosis code denotes heart failure (see :data:`HF_CODE_PREFIXES`)."""
    return normalize_code(code).startswith(HF_CODE_PREFIXES)


def label_from_codes(codes: Iterable[str]) -> bool:
    """The ``codes`` rule."""
    return any(is_hf_code(c) for c in codes)


def hf_entity_spans(text: str, spans: Iterable[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """The HF mentions inside gold disease spans: ``(start, end)`` of each mention found."""
    out: list[tuple[int, int]] = []
    for start, end, label in spans:
        if label not in DISEASE_LABELS:
            continue
        for m in find_hf_mentions(text[start:end]):
            out.append((start + m.start, start + m.end))
    return sorted(set(out))


def label_from_assertions(assertions: Sequence[str]) -> bool:
    """The ``entities``/``mentions`` rule given the assertions of the document's HF mentions."""
    return any(a in POSITIVE_ASSERTIONS for a in assertions)

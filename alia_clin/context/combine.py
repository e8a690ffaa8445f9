"""Combination of ConText rule categories with a learned scope head's entity decisions.

Reads, per entity, the set of categories the rules found
(:func:`~alia_clin.context.algorithm.entity_category_sets`) and the head's
:class:`~alia_clin.encoder.scope_head.EntityDecision` (or ``None`` when the head did not see
the entity); returns the new category set. Only ``negated`` and ``uncertain`` are affected:
family, historical and hypothetical readings (and section-implied categories) always come from
the rules. Policies (:data:`POLICIES`):

``rules``           rules only (the head is ignored)
``head``            the head decides negated/uncertain, the rules the rest
``union``           negated/uncertain when the rules or the head say so
``rules_first``     the rules' negated/uncertain decision where they have one, else the head's
``head_where_cue``  the head decides negated/uncertain in sentences where it sees a cue,
                    the rules elsewhere
"""

from __future__ import annotations

from collections.abc import Sequence

from ..encoder.scope_head import EntityDecision
from ..errors import AliaClinValueError, ErrorCode

POLICIES = ("rules", "head", "union", "rules_first", "head_where_cue")
SCOPED = frozenset({"negated", "uncertain"})


def check_policy(policy: str, field: str = "policy") -> str:
    """Return ``policy`` if known, else raise ``E107``."""
    if policy not in POLICIES:
        raise AliaClinValueError(ErrorCode.E107, value=policy, field=field, choices=", ".join(POLICIES))
    return policy


def head_categories(decision: EntityDecision, threshold: float) -> set[str]:
    """``{"negated"}``, ``{"uncertain"}``, both or none from the head's mean scope probabilities."""
    out = set()
    if decision.neg >= threshold:
        out.add("negated")
    if decision.unc >= threshold:
        out.add("uncertain")
    return out


def combine(
    policy: str,
    rule_sets: Sequence[set[str]],
    decisions: Sequence[EntityDecision | None],
    threshold: float,
) -> list[set[str]]:
    """New category sets, one per entity (the inputs are not modified)."""
    check_policy(policy)
    out: list[set[str]] = []
    for cats, dec in zip(rule_sets, decisions, strict=True):
        cats = set(cats)
        if policy == "rules" or dec is None:
            out.append(cats)
            continue
        head = head_categories(dec, threshold)
        rules = cats & SCOPED
        rest = cats - SCOPED
        if policy == "head":
            chosen = head
        elif policy == "union":
            chosen = rules | head
        elif policy == "rules_first":
            chosen = rules or head
        else:  # head_where_cue
            chosen = head if dec.cue_in_sentence else rules
        out.append(rest | chosen)
    return out

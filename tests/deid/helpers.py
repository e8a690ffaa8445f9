"""Helpers shared by the de-identification tests."""

from __future__ import annotations

from alia_clin.deid.rules import RuleEngine


def phi_pairs(engine: RuleEngine, text: str) -> list[tuple[str, str]]:
    """Return the (label, covered text) pairs ``engine`` finds in ``text``, in text order."""
    return [(m.label, text[m.start : m.end]) for m in engine.analyze(text)]

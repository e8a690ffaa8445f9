"""Training copies of annotated notes written the way many real notes are: in lower case, or
typed without accents.

Reads :class:`~alia_clin.training.corpora.Example` objects and returns new ones; writes nothing.
Every copy keeps its note's length character by character, so the gold offsets stay valid
(:mod:`alia_clin.encoder.casing`). Used by ``alia-clin train`` (per task: ``case_copies`` /
``accent_copies`` in ``[training.tasks.<name>]``) and ``alia-clin models retrain-head``
(``--case-copies`` / ``--accent-copies``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ..encoder.casing import lower_same_length, strip_accents_same_length
from .corpora import Example


def lower_case_copy(example: Example) -> Example:
    """``example`` with its text in lower case (character by character, so every gold offset
    stays valid) and ``#lower`` appended to its id."""
    return replace(example, id=f"{example.id}#lower", text=lower_same_length(example.text))


def accent_free_copy(example: Example) -> Example:
    """``example`` with its text typed without accents (:func:`strip_accents_same_length`, so
    every gold offset stays valid) and ``#noaccent`` appended to its id."""
    return replace(example, id=f"{example.id}#noaccent", text=strip_accents_same_length(example.text))


def with_copies(examples: Sequence[Example], *, case: bool = False, accent: bool = False) -> list[Example]:
    """``examples`` followed by a lower-case copy of each (``case``) and then an accent-free copy
    of each (``accent``). Copies are made of the originals only, never of other copies, so both
    options together triple the notes."""
    originals = list(examples)
    out = list(originals)
    if case:
        out += [lower_case_copy(ex) for ex in originals]
    if accent:
        out += [accent_free_copy(ex) for ex in originals]
    return out

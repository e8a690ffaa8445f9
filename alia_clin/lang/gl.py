"""Galician for spaCy.

spaCy ships no Galician class (``spacy.blank("gl")`` fails). Galician orthography and clitic
patterns are close to Spanish and Portuguese; this class reuses spaCy's **Spanish** tokenizer
exceptions, punctuation rules and lexical attributes (the Spanish rules split the same
punctuation, abbreviations such as "Dr." and numbers as Galician clinical text writes them).
It is registered as the ``gl`` language through the ``spacy_languages`` entry point, so
``spacy.blank("gl")`` works once alia_clin is installed.
"""

from __future__ import annotations

from spacy.lang.es import SpanishDefaults
from spacy.language import Language


class GalicianDefaults(SpanishDefaults):
    """Spanish tokenizer rules applied to Galician."""


class Galician(Language):
    """Galician language class (lang code ``gl``)."""

    lang = "gl"
    Defaults = GalicianDefaults


__all__ = ["Galician"]

"""Clinical context for alia_clin: ConText-style assertions and section headings.

* :mod:`.lexicon` — trigger lexicons (package data ``resources/context/<lang>.json``) compiled
  into a token-sequence matcher.
* :mod:`.sentences` — token normalization and a rule-based sentence splitter over a ``Doc``.
* :mod:`.algorithm` — the ConText algorithm: one assertion per entity.
* :mod:`.sections` — section-heading detection.

The spaCy stages are :mod:`alia_clin.pipeline.context` (``alia_context``) and
:mod:`alia_clin.pipeline.sections` (``alia_sections``).
"""

from __future__ import annotations

from .algorithm import ASSERTIONS, PRIORITY, assert_entities
from .lexicon import ContextLexicon, load_lexicon_data
from .sections import SectionMatcher, load_sections_data

__all__ = [
    "ASSERTIONS",
    "PRIORITY",
    "ContextLexicon",
    "SectionMatcher",
    "assert_entities",
    "load_lexicon_data",
    "load_sections_data",
]

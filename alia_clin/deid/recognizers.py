"""Presidio pattern recognizers for PHI in es/ca/eu/gl clinical notes.

The rules themselves are declared once in :mod:`alia_clin.deid.specs` (Presidio-free, also read
by the fast :class:`alia_clin.deid.rules.RuleEngine`); :func:`build_recognizers` wraps each
:class:`~alia_clin.deid.specs.RuleSpec` in an :class:`AliaPatternRecognizer` (a Presidio
``PatternRecognizer`` subclass) for one language, to register in an ``AnalyzerEngine``.

A regex may hold a named group ``v``: then only that group is the PHI span. Scores follow
Presidio: a validator that says ``True`` sets the score to 1.0, ``False`` drops the match.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from .reading import reading_copy
from .specs import (
    CONTEXT_BOOST,
    SUPPORTED_LANGUAGES,
    PatternSpec,
    RuleSpec,
    build_specs,
    check_language,
    context_words,
    load_resource,
    value_groups,
    value_spans,
)

__all__ = [
    "CONTEXT_BOOST",
    "SUPPORTED_LANGUAGES",
    "AliaPatternRecognizer",
    "PatternSpec",
    "RuleSpec",
    "build_recognizers",
    "build_specs",
    "context_words",
    "load_resource",
]

# --------------------------------------------------------------------------------------------
# Presidio wrapper
# --------------------------------------------------------------------------------------------


class AliaPatternRecognizer(PatternRecognizer):
    """A Presidio ``PatternRecognizer`` built from a :class:`RuleSpec` for one language.

    Unlike the base class it reports the span of the regex group ``v`` when a pattern has one,
    and applies the spec's checksum through :meth:`validate_result` / :meth:`invalidate_result`.
    """

    def __init__(self, spec: RuleSpec, language: str) -> None:
        """Build the recognizer for ``spec`` in ``language`` (context words of that language)."""
        check_language(language)
        self.spec = spec
        self._flags = {p.name: p.flags for p in spec.patterns}
        compiled = [(p, re.compile(p.regex, p.flags)) for p in spec.patterns]
        self._regexes = [(p, regex, value_groups(regex)) for p, regex in compiled]
        super().__init__(
            supported_entity=spec.label,
            name=spec.name,
            supported_language=language,
            patterns=[Pattern(p.name, p.regex, p.score) for p in spec.patterns],
            context=list(spec.context_for((language,))),
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        """Return the spec's checksum verdict for ``pattern_text`` (None when it has none)."""
        return self.spec.validator(pattern_text) if self.spec.validator else None

    def invalidate_result(self, pattern_text: str) -> bool | None:
        """Return True when the spec's invalidator rejects ``pattern_text`` (None when it has none)."""
        return self.spec.invalidator(pattern_text) if self.spec.invalidator else None

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Read ``text`` and return one result per accepted value of a match (its value groups'
        spans when it has them, else the whole match: see :class:`~.specs.PatternSpec`).

        A note with decomposed accents, odd spaces or invisible characters is read through its
        plain copy and the results mapped back to the note (see :mod:`.reading`).
        """
        if entities and self.spec.label not in entities:
            return []
        copy = reading_copy(text)
        results: list[RecognizerResult] = []
        for pattern, regex, groups in self._regexes:
            for match in regex.finditer(text if copy is None else copy.text):
                for start, end in value_spans(match, groups):
                    result = self._result(match.string, start, end, pattern)
                    if result is not None:
                        if copy is not None:
                            result.start, result.end = copy.span(result.start, result.end)
                        results.append(result)
        return EntityRecognizer.remove_duplicates(results)

    def _result(self, subject: str, start: int, end: int, pattern: PatternSpec) -> RecognizerResult | None:
        """Turn the value ``subject[start:end]`` of a match into a scored result, or None when rejected."""
        value = subject[start:end]
        score = pattern.score
        verdict = self.validate_result(value)
        if verdict is not None:
            if not verdict:
                return None
            score = EntityRecognizer.MAX_SCORE
        if self.invalidate_result(value):
            return None
        name = self.spec.name
        explanation = self.build_regex_explanation(
            name, pattern.name, pattern.regex, score, bool(verdict), pattern.flags
        )
        return RecognizerResult(
            entity_type=self.spec.label,
            start=start,
            end=end,
            score=score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            },
        )


def build_recognizers(language: str) -> list[EntityRecognizer]:
    """Return one :class:`AliaPatternRecognizer` per rule for ``language`` ("es", "ca", "eu", "gl").

    Each has ``supported_language=language`` and that language's context words. Raises ``E005``
    for any other language.
    """
    check_language(language)
    return [AliaPatternRecognizer(spec, language) for spec in build_specs((language,))]

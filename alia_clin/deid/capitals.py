"""Facility names in lines written in capitals: the rules' matches revised before merging.

The facility rules (:mod:`alia_clin.deid.facilities`) find a name as a head ("Hospital",
"Clínica", "Instituto") followed by capitalised words, and ``"HOSPITAL UNIVERSITARIO LA PAZ"``
as a head followed by words in capitals. In a note exported in capitals every word is
capitalised, so a head runs on through the sentence: "LA CLÍNICA DE UN MES DE EVOLUCIÓN CON
DISNEA" or "INGRESA EN EL HOSPITAL POR DOLOR ABDOMINAL" became a HOSPITAL, and de-identified
text lost its clinical content. The encoder reads such lines in lower case
(:func:`alia_clin.encoder.casing.fold_capitals`), so the PHI head still sees names as names.

:func:`revise_capital_facilities` reads the PHI candidates of one note (rule and model
sources) and the ranges of its lines written in capitals
(:func:`alia_clin.encoder.casing.capital_lines`); it returns the candidates with each match of
a facility name rule (:data:`FACILITY_SOURCES`) that overlaps such a line revised:

* when a model candidate scoring at least ``model_min_score`` overlaps it, the rule match is
  dropped and the model's span stands (the model read the folded line; not when the encoder
  read the capitals as they are, ``case_fold = "none"``, where the model is no better);
* otherwise, when it opens with an ambiguous head (:data:`AMBIGUOUS_HEADS`: "CLÍNICA", "H.",
  "CENTRO"), it is dropped;
* otherwise it is cut before its first *stop word* (:data:`CAPITALS_STOP_WORDS`: Spanish
  function words that occur in no facility name of MEDDOCAN train, plus the rules' own service
  and contact stop words in capitals), with trailing connectors and punctuation removed; what is
  left is kept when it still has two words ("HOSPITAL SON DURETA" stays, "HOSPITAL POR DOLOR
  ABDOMINAL" is dropped).

Fixed institution names and company names are matched by the same recognizer, so they follow
the same revision. Everything outside lines written in capitals is returned unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from .rules import PhiMatch
from .specs import load_resource

#: Rule sources whose matches are facility names built from capitalised words.
FACILITY_SOURCES = frozenset({"HospitalRecognizer", "HealthCentreRecognizer", "InstitutionRecognizer"})

#: Function words that end a facility name written in capitals. Each was checked to occur in no
#: HOSPITAL, INSTITUCION or CENTRO_SALUD span of MEDDOCAN train ("PARA" and "EN" do, so they
#: are not here).
# fmt: off
CAPITALS_STOP_WORDS = frozenset((
    "POR", "TRAS", "CON", "SIN", "SE", "AL", "QUE", "UN", "UNA", "UNOS", "UNAS", "SU", "SUS", "DESDE",
    "HASTA", "MEDIANTE", "DONDE", "COMO", "ES", "FUE", "HA", "NO", "NI", "LE", "LO", "LES", "ANTE",
    "SEGÚN", "DURANTE", "ENTRE", "SOBRE", "HACIA", "PERO", "SIENDO", "ESTE", "ESTA", "ESE", "ESA",
    "MUY", "MÁS", "YA", "TAMBIÉN",
))
# fmt: on
#: Heads that start a facility name in fewer than half of their occurrences in MEDDOCAN train
#: (any case): "clínica" 7 of 185 (mostly "the clinical picture"), "h." 1 of 284 (hours),
#: "centro" 18 of 81. "hospital" (214 of 303), "complejo" (22 of 34), "instituto" and
#: "fundación" are not here. In capitals a match that opens with one of these is dropped unless a
#: model candidate stands for it.
AMBIGUOUS_HEADS = frozenset({"CLÍNICA", "CLINICA", "H.", "CENTRO"})
#: Words a name does not end with.
# fmt: off
_CONNECTORS = frozenset((
    "DE", "DEL", "LA", "LAS", "LOS", "EL", "Y", "I", "E", "D'", "D’", "DO", "DA", "DOS", "DAS", "A", "O",
))
# fmt: on
_WORD = re.compile(r"\S+")
_EDGE_PUNCT = ".,;:()[]{}\"'«»"
#: Punctuation a cut name does not end with.
_TRAILING = ".,;:"


@cache
def _stop_words() -> frozenset[str]:
    """The stop words in capitals: :data:`CAPITALS_STOP_WORDS` and the rules' ``stop_words``."""
    table: list[str] = load_resource("facilities")["stop_words"]
    return CAPITALS_STOP_WORDS | {w.upper() for w in table}


def _cut(match: PhiMatch, text: str) -> PhiMatch | None:
    """``match`` cut before its first stop word and trailing connectors, or None when it opens with
    an ambiguous head or fewer than two words are left."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, match.start, match.end)]
    if not words or text[words[0][0] : words[0][1]].upper() in AMBIGUOUS_HEADS:
        return None
    stops = _stop_words()
    kept: list[tuple[int, int]] = []
    for i, (start, end) in enumerate(words):
        if i > 0 and text[start:end].strip(_EDGE_PUNCT).upper() in stops:
            break
        kept.append((start, end))
    while kept and text[kept[-1][0] : kept[-1][1]].strip(_EDGE_PUNCT).upper() in _CONNECTORS:
        kept.pop()
    if len(kept) < 2:
        return None
    end = kept[-1][1]
    while end > match.start and (text[end - 1] in _TRAILING or text[end - 1].isspace()):
        end -= 1
    if end == match.end:
        return match
    return PhiMatch(match.start, end, match.label, match.score, match.source)


def _overlaps(match: PhiMatch, ranges: Iterable[tuple[int, int]]) -> bool:
    """Whether ``match`` overlaps any of ``ranges``."""
    return any(match.start < end and start < match.end for start, end in ranges)


def revise_capital_facilities(
    candidates: Sequence[PhiMatch],
    text: str,
    capital_lines: Sequence[tuple[int, int]],
    *,
    rule_sources: frozenset[str],
    model_min_score: float,
    trust_model: bool = True,
) -> list[PhiMatch]:
    """Return ``candidates`` with the facility rule matches in ``capital_lines`` revised (see the
    module docstring). Candidates whose source is not in ``rule_sources`` are model candidates;
    with ``trust_model`` false (the encoder read the capitals as they are) none replaces a rule
    match."""
    if not capital_lines:
        return list(candidates)
    models = (
        [c for c in candidates if c.source not in rule_sources and c.score >= model_min_score]
        if trust_model
        else []
    )
    out: list[PhiMatch] = []
    for cand in candidates:
        if cand.source not in FACILITY_SOURCES or not _overlaps(cand, capital_lines):
            out.append(cand)
            continue
        if _overlaps(cand, ((m.start, m.end) for m in models)):
            continue
        cut = _cut(cand, text)
        if cut is not None:
            out.append(cut)
    return out

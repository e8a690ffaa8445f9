"""Checks on the model layer's PHI candidates: a sex that is a clinical abbreviation.

The PHI head (:mod:`alia_clin.pipeline.deid`) marks the patient's sex word; on cardiology notes it
also marks clinical abbreviations as SEXO_SUJETO_ASISTENCIA: "VI" (left ventricle, 12 times in the
258 CardioCCC train notes), "HVI" (twice), "QRS". Masking them removes clinical content from the
de-identified text and from everything downstream. In MEDDOCAN train gold every
SEXO_SUJETO_ASISTENCIA span is a sex word or code ("H", "M", "varón", "Niña", "femenino" …) but
3 of 914. The model's other non-sex words there are kept on purpose: MEDDOCAN counts "blanca",
"negra" (race) and "Recién nacida" as PHI of other labels, and the model's SEXO span still masks
them (dropping every non-sex word lowered MEDDOCAN dev character recall .9911 → .9907).

:func:`plausible_model_span` reads a candidate's label and text and says whether the model's
candidate may stand: a SEXO_SUJETO_ASISTENCIA candidate written as an abbreviation (2 to 4
capital letters) must be a word of the deid lexicon's ``sex_words``, ``sex_nouns`` or
``sex_codes`` (all languages, any case, also in the plural). Other candidates always may. The
rules layer is not checked here. Nothing is logged.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .specs import load_resource

SEX_LABEL = "SEXO_SUJETO_ASISTENCIA"
_ABBREVIATION = re.compile(r"[A-ZÁÉÍÓÚÑÇ]{2,4}")


@lru_cache(maxsize=1)
def sex_vocabulary() -> frozenset[str]:
    """The case-folded sex words and codes of every language, with plurals."""
    lexicon = load_resource("lexicon")
    words: set[str] = set()
    for table in ("sex_words", "sex_nouns", "sex_codes"):
        data = lexicon[table]
        for group in data.values() if isinstance(data, dict) else [data]:
            words.update(w.casefold() for w in group)
    plurals = {w + ("es" if w[-1] in "nrl" else "s") for w in words if len(w) > 2}
    return frozenset(words | plurals)


def plausible_model_span(label: str, text: str) -> bool:
    """Whether a model candidate labelled ``label`` over ``text`` may stand (module docstring)."""
    if label != SEX_LABEL:
        return True
    word = " ".join(text.split())
    return not _ABBREVIATION.fullmatch(word) or word.casefold() in sex_vocabulary()

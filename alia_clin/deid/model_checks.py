"""Checks on PHI candidates: clinical words, readings and eponyms taken for PHI, and sexes that
are clinical abbreviations.

**A sex that is a clinical abbreviation.**

The PHI head (:mod:`alia_clin.pipeline.deid`) marks the patient's sex word; on cardiology notes it
also marks clinical abbreviations as SEXO_SUJETO_ASISTENCIA: "VI" (left ventricle, 12 times in the
258 CardioCCC train notes), "HVI" (twice), "QRS". Masking them removes clinical content from the
de-identified text and from everything downstream. In MEDDOCAN train gold every
SEXO_SUJETO_ASISTENCIA span is a sex word or code ("H", "M", "varón", "Niña", "femenino" …) but
3 of 914. The model's other non-sex words there are kept on purpose: MEDDOCAN counts "blanca",
"negra" (race) and "Recién nacida" as PHI of other labels, and the model's SEXO span still masks
them (dropping every non-sex word lowered MEDDOCAN dev character recall .9911 → .9907).

**Clinical words.** The PHI head was trained on MEDDOCAN, whose notes have few clinical
findings; on cardiology notes it also marks anatomy and drugs: "Vena" (of "Vena cava inferior")
as a relative 9 times in the 258 CardioCCC train notes, "Aurícula", "Hilio", "Cardiopatía",
"insulina glargina" or "salbutamol si precisa" as an institution, "ácido acetilsalicílico" as a
clinician. A model candidate whose words are all clinical words (:func:`clinical_vocabulary`:
the terminology table's words and ``not_phi.json``'s ``clinical_words``, less every PHI word of
the deid lexicon and the name lists) and that holds no digit is dropped.

**Readings.** A candidate of any source made of digits and punctuation only, labelled as a name,
a facility, a country, a profession, a sex, an e-mail or a web address (:data:`WORD_LABELS`: no
MEDDOCAN train or dev gold span of those labels is a number), that lies inside the value of a
measurement (:mod:`alia_clin.clinical.measurements`: "88" of "FC 88", which the model took for a
hospital in a Catalan note) is dropped (:func:`inside_reading`). Numbers of other labels (dates,
identifiers, phones, postal codes) are never dropped here.

**Eponyms.** "New York" in "clase funcional II de la New York Heart Association" is no place,
"Glasgow 15" no street: a candidate of any source whose core (leaving aside digits, Roman
numerals and punctuation at its edges) lies inside one of ``not_phi.json``'s
``clinical_eponyms`` is dropped (:func:`eponym_spans`, :func:`inside_eponym`). MEDDOCAN gold
marks none of them as PHI.

:func:`plausible_model_span` reads a candidate's label and text and says whether the model's
candidate may stand: a SEXO_SUJETO_ASISTENCIA candidate written as an abbreviation (2 to 4
capital letters) must be a word of the deid lexicon's ``sex_words``, ``sex_nouns`` or
``sex_codes`` (all languages, any case, also in the plural); with ``clinical_words``, no
candidate may be made of clinical words only, nor of punctuation only ("/" of
"sacubitrilo/valsartán"). The rules layer is checked for readings and eponyms only.
Nothing is logged.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .specs import _given_names, load_resource

SEX_LABEL = "SEXO_SUJETO_ASISTENCIA"
#: Labels whose MEDDOCAN gold spans (train and dev) are never digits and punctuation only.
WORD_LABELS = frozenset(
    {
        "HOSPITAL",
        "INSTITUCION",
        "CENTRO_SALUD",
        "NOMBRE_SUJETO_ASISTENCIA",
        "NOMBRE_PERSONAL_SANITARIO",
        "PAIS",
        "PROFESION",
        SEX_LABEL,
        "OTROS_SUJETO_ASISTENCIA",
        "CORREO_ELECTRONICO",
        "URL_WEB",
    }
)
_ABBREVIATION = re.compile(r"[A-ZÁÉÍÓÚÑÇ]{2,4}")
_WORD = re.compile(r"[^\W\d_]+")
_DIGIT = re.compile(r"\d")
#: A number: digits and punctuation only ("88", "145/90").
_NUMBER_ONLY = re.compile(r"[\d\W_]*\d[\d\W_]*")
#: Edges of a candidate that do not count against an eponym: digits, punctuation, Roman numerals.
_EDGE = r"(?:[\W\d_]|(?<![^\W\d_])[IVX]+(?![^\W\d_]))*"
_CORE = re.compile(rf"{_EDGE}(.*?){_EDGE}\Z", re.S)
#: Deid lexicon tables of words for relatives ("familiar", "padre", "materna").
_PHI_TABLES = (
    "kin_terms",
    "kin_terms_after_article",
    "kin_terms_after_possessive",
    "kin_modifiers",
    "kin_sides",
)
#: Terminology words shorter than this are left out of the clinical vocabulary ("de", "con").
_MIN_TERM_WORD = 4


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


@lru_cache(maxsize=1)
def phi_vocabulary() -> frozenset[str]:
    """The case-folded words the deid lexicon uses for PHI, and the name lists' names.

    Relatives and their modifiers, number words, sex words and codes, age units, and the given
    names and surnames of Faker's es_ES / es_CA lists and the lexicon ("Dolores" is a name, and
    "dolores" a word of the terminology).
    """
    from faker.providers.person.es_CA import Provider as CatalanPersons
    from faker.providers.person.es_ES import Provider as SpanishPersons

    lexicon = load_resource("lexicon")
    words: set[str] = set(sex_vocabulary())
    for table in (*_PHI_TABLES, "number_words", "age_units"):
        data = lexicon[table]
        for group in data.values() if isinstance(data, dict) else [data]:
            words.update(w.casefold() for w in group)
    surnames = (*SpanishPersons.last_names, *CatalanPersons.last_names)
    words.update(n.casefold() for n in (*_given_names(), *surnames))
    return frozenset(words)


@lru_cache(maxsize=1)
def clinical_vocabulary() -> frozenset[str]:
    """Case-folded words naming clinical things only (module docstring, "Clinical words")."""
    from ..clinical.terminology import Terminology

    words: set[str] = set()
    for concept in Terminology.load().concepts.values():
        for term in (concept.preferred, *(t for terms in concept.synonyms.values() for t in terms)):
            words.update(w for w in _WORD.findall(term.casefold()) if len(w) >= _MIN_TERM_WORD)
    for group in load_resource("not_phi")["clinical_words"].values():
        words.update(w.casefold() for w in group)
    return frozenset(words - phi_vocabulary())


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """Case-folded function words (``not_phi.json``): neither clinical nor PHI ("si", "de")."""
    groups = load_resource("not_phi")["function_words"].values()
    return frozenset(w.casefold() for group in groups for w in group)


def clinical_words_only(text: str) -> bool:
    """Whether ``text`` has words and no digit, and every word but function words written in
    lower case ("si", "de"; not the "A" of "S.A.") is a word of :func:`clinical_vocabulary`
    ("salbutamol si precisa"; "de" alone too)."""
    words = _WORD.findall(text)
    if not words or _DIGIT.search(text):
        return False
    vocabulary, neutral = clinical_vocabulary(), function_words()
    return all(w.casefold() in vocabulary or (w.islower() and w in neutral) for w in words)


def plausible_model_span(
    label: str, text: str, *, sex_words: bool = True, clinical_words: bool = True
) -> bool:
    """Whether a model candidate labelled ``label`` over ``text`` may stand (module docstring)."""
    if clinical_words and (clinical_words_only(text) or not any(ch.isalnum() for ch in text)):
        return False
    if label != SEX_LABEL or not sex_words:
        return True
    word = " ".join(text.split())
    return not _ABBREVIATION.fullmatch(word) or word.casefold() in sex_vocabulary()


@lru_cache(maxsize=1)
def _eponym_regex() -> re.Pattern[str]:
    """One case-insensitive regex over every eponym; a space or hyphen matches spaces/hyphens."""
    eponyms = sorted(load_resource("not_phi")["clinical_eponyms"], key=len, reverse=True)
    forms = (re.sub(r"(?:\\ |\\-|-)+", r"[ \\t\\n-]+", re.escape(e)) for e in eponyms)
    return re.compile(rf"(?<![\w])(?:{'|'.join(forms)})(?![\w])", re.IGNORECASE)


def measurement_values(text: str) -> list[tuple[int, int]]:
    """Character offsets of the values of the measurements in ``text`` ("88" of "FC 88")."""
    from ..clinical.measurements import extract_measurements

    return [(m.text_value_start, m.text_value_end) for m in extract_measurements(text)]


def word_label_number(label: str, start: int, end: int, text: str) -> bool:
    """Whether ``text[start:end]`` is a number (digits and punctuation only) labelled with one of
    :data:`WORD_LABELS`."""
    return label in WORD_LABELS and bool(_NUMBER_ONLY.fullmatch(text, start, end))


def inside_reading(start: int, end: int, values: list[tuple[int, int]]) -> bool:
    """Whether ``[start, end)`` lies inside one of the measurement ``values`` (from
    :func:`measurement_values`): a heart rate is no hospital."""
    return any(vs <= start and end <= ve for vs, ve in values)


def eponym_spans(text: str) -> list[tuple[int, int]]:
    """Character offsets of every clinical eponym in ``text`` (see the module docstring)."""
    return [m.span() for m in _eponym_regex().finditer(text)]


def inside_eponym(start: int, end: int, text: str, eponyms: list[tuple[int, int]]) -> bool:
    """Whether the core of ``text[start:end]`` (edges of digits, numerals, punctuation left
    aside) lies inside one of ``eponyms`` (from :func:`eponym_spans` on ``text``)."""
    if not eponyms:
        return False
    core = _CORE.match(text, start, end)
    if core is None or core.start(1) == core.end(1):
        return False
    s, e = core.span(1)
    return any(es <= s and e <= ee for es, ee in eponyms)

"""Rule specifications for facility names: HOSPITAL, CENTRO_SALUD and INSTITUCION (es/ca/eu/gl).

Reads the word lists of ``alia_clin/resources/deid/facilities.json`` and the facility heads of
``lexicon.json``; writes nothing. :func:`facility_rules` returns :class:`RuleSpec` objects that
:mod:`alia_clin.deid.specs` adds to the rule set (the spaCy stage ``alia_deid`` and the Presidio
recognizers both read them).

A facility name is a head (``"Hospital Universitario"``, ``"Centro de Salud"``,
``"Universidad"``…), optional descriptors (``"General"``, ``"Clínico"``) and capitalised name
words joined by connectors (``"de"``, ``"del"``, ``"d'"``). Boundaries follow MEDDOCAN:

* a name stops before a service or contact word (``"Servicio"``, ``"Planta"``, ``"Tel"``), a
  street type (``"Ctra."``, ``"Avda."``), another facility head, and an untyped street before
  a postal code (``"… Doctor Peset Gaspar Aguilar 90. 46017"``);
* a name stops before a trailing city or country: after its first name word, a word of the
  ``places`` list (or a country) is not taken, nor ``"de"`` + a place (``"Hospital Ramón y
  Cajal de Madrid"`` gives ``"Hospital Ramón y Cajal"``), unless it follows a title such as
  ``"Príncipe de Asturias"``; right after the head, ``"de"`` + a place is the name
  (``"Hospital Universitario de Ceuta"``). That trailing place is also given as TERRITORIO.
* ``"Hospital de Día"``, ``"Clínica de Heridas"``, ``"Unidad de Nutrición Clínica y
  Dietética"`` are units, not facilities.

INSTITUCION also covers fixed names (regional health services, ministries, forensic
institutes), ``"Servicio <Adjective> de Salud"`` and a list of well-known pharmaceutical and
medical-device companies, which MEDDOCAN marks as INSTITUCION.
"""

# Regex tables read best unwrapped: long pattern lines are allowed in this file only.
# ruff: noqa: E501
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from .specs import (
    _BARE_STREET,
    _LOWER,
    _UPPER,
    SUPPORTED_LANGUAGES,
    PatternSpec,
    RuleSpec,
    _named_street,
    _street_type_regex,
    _trie_alt,
    _words,
    load_resource,
    place_names,
)

__all__ = ["facility_name_regex", "facility_rules"]

_RESOURCE = "facilities"
#: Connectors inside a facility name; ``d'`` may be glued to the next word ("Vall d'Hebron").
_CONNECTOR = r"(?:(?:de|del|dels|la|las|los|el|y|i|e|do|da|dos|das|de[ \t]+la|de[ \t]+las|de[ \t]+los)[ \t]+|d['’][ \t]*)"
_DE = r"(?:de|del|d['’]|do|da)"
_ARTICLE = r"(?:(?:la|las|los|el|a|o|as|os)[ \t]+)?"


def _table(key: str) -> list[str]:
    """Return list ``key`` of ``facilities.json``."""
    data: list[str] = load_resource(_RESOURCE)[key]
    return data


def _literal_alt(words: Iterable[str]) -> str:
    """Return a case-sensitive alternation of ``words`` (a prefix trie, so the longest word wins);
    a space matches spaces/tabs."""
    return _trie_alt(words)


def _head_forms(words: Iterable[str]) -> list[str]:
    """Return capitalised forms of lexicon heads: first letter up, and every word of 3+ letters up.

    Abbreviations (``"h. u."``) get upper-case letters only (``"H. U."``), never a lower-case
    ``"h."`` that would match ``"mg/24 h. La …"``; short heads also get their acronym (``"CAP"``).
    """
    out: list[str] = []
    for w in words:
        if "." in w:
            out.append(w.upper())
            continue
        if len(w) <= 4 and " " not in w:  # acronyms: "CAP", "ABS", "PAC" (not "Cap", "head of")
            out.append(w.upper())
            continue
        out.append(w[:1].upper() + w[1:])
        out.append(" ".join(_title(p) if len(p) > 2 else p for p in w.split(" ")))
    return out


def _title(word: str) -> str:
    """Capitalise ``word``, after an elided article too (``"d'atenció"`` → ``"d'Atenció"``)."""
    if word[:2] in ("d'", "d’", "l'", "l’"):
        return word[:2] + word[2:3].upper() + word[3:]
    return word[:1].upper() + word[1:]


@cache
def _places() -> str:
    """Return an alternation of cities, provinces, regions and countries that may trail a name."""
    countries = load_resource("countries")
    names = {n for lang in SUPPORTED_LANGUAGES for n in countries.get(lang, ()) if n[:1].isupper()}
    return rf"(?:{_literal_alt([*place_names(), *names])})(?![\w])"


@cache
def _city() -> str:
    """Return an alternation of the cities/provinces/regions only (given as TERRITORIO)."""
    return rf"(?:{_literal_alt(place_names())})(?![\w])"


@cache
def _word() -> str:
    """Return one name word: capitalised word, abbreviation, initials, day-month, quoted name.

    Also ``"La Paz"`` (article and word, one unit), ``"Príncipe de Asturias"`` (title, ``"de"``
    and a word) and a numbered zone (``"Zona 4"``).
    """
    abbr = _literal_alt(_table("name_abbreviations")) + r"\."
    months = _words("months", SUPPORTED_LANGUAGES)
    month = _literal_alt([*months, *(m[:1].upper() + m[1:] for m in months)])
    body = rf"[{_UPPER}][{_LOWER}{_UPPER}'’·]*(?:-[{_UPPER}{_LOWER}][{_LOWER}{_UPPER}'’·]*)*"
    titles = _literal_alt(_table("titles_with_place"))
    article = r"(?:La|El|Las|Los|A|O|As|Os|L['’])"
    return (
        rf"(?:{titles}[ \t]+{_DE}[ \t]*{body}(?![\w])"
        rf"|(?:Zona|Sector|Área|Àrea|Distrito|Districte)[ \t]+(?:\d{{1,2}}|[IVX]{{1,4}})(?![\w])"
        rf"|{abbr}|[{_UPPER}]\.(?:[ ]?[{_UPPER}]\.)+"
        rf"|\d{{1,2}}[ \t]+de[ \t]+{month}(?![\w])"
        r"|\"[^\"\n]{1,40}\"|«[^»\n]{1,40}»"
        rf"|{article}[ \t]*(?<=[ \t'’]){body}(?![\w])"
        rf"|{body}(?![\w]))"
    )


@cache
def _stop() -> str:
    """Return a look-ahead refusing a service/contact word, or a street type not after a connector.

    The regex reads the spaces and connectors before a word: ``"Hospital Virgen del Camino"``
    keeps ``"Camino"``, ``"Hospital Reina Sofía Ctra. Tarazona"`` stops before ``"Ctra."``.
    """
    words = rf"(?!{_literal_alt(_table('stop_words'))}(?![\w]))"
    return rf"(?:{_CONNECTOR}+{words}|{words}(?!{_street_type_regex(capitalised=True)}))"


@cache
def facility_name_regex(*, place_after_de: bool = False, named_streets: bool = True, short: bool = False) -> str:
    """Return the regex of the name after a facility head (one to seven words, see module doc).

    The first word may be anything capitalised; later words may not be a place, nor ``"de"`` +
    a place unless ``place_after_de`` (institutions: ``"Universidad Nacional de Córdoba"``),
    and may not open an untyped street before a postal code: one that opens with a given name
    or a title (``named_streets``, the larger regex: ``"Gaspar Aguilar 90. 46017"``), else one
    of one to three capitalised words. ``short`` gives the head and first word only, a fallback
    kept when the full name overlaps a street.
    """
    word, stop, place = _word(), _stop(), _places()
    descriptors = _literal_alt(_table("descriptors"))
    head_end = rf"(?:[ \t]+(?:(?:y|i|e)[ \t]+)?{descriptors}(?![\w]))*[ \t]+{stop}(?:{place}|{word})"
    if short:
        return head_end
    street = rf"(?![ \t]+{_named_street() if named_streets else _BARE_STREET})"
    de_place = "" if place_after_de else rf"(?:{_DE}[ \t]*{_ARTICLE})?"
    later = rf"{street}(?![ \t]+{de_place}{place})[ \t]+{stop}{word}"
    return rf"{head_end}(?:{later}){{0,6}}"


@cache
def _not_a_unit() -> str:
    """Return a look-ahead refusing a head used as a unit ("Hospital de Día", "Clínica de Heridas")."""
    units = _literal_alt(_table("clinic_unit_words"))
    return rf"(?![ \t]+(?:(?:y|e|i|de|del|de[ \t]+la|de[ \t]+las)[ \t]+)?{units}(?![\w]))"


@cache
def _not_after_h() -> str:
    """Return a look-ahead refusing "H." read as another abbreviation ("H. Pylori", "H. Tiroideas").

    Placed right after a head alternation: it only applies when the head just matched ends in
    "H." (the bare abbreviation); the words of ``h_abbreviation_words`` match in any case.
    """
    words = "|".join(re.escape(w) for w in sorted(_table("h_abbreviation_words"), key=len, reverse=True))
    return rf"(?:(?<!H\.)|(?![ \t]+(?i:{words})(?![\w])))"


def _heads(lexicon_key: str, extra_key: str | None = None) -> str:
    """Return the alternation of the capitalised heads of ``lexicon_key`` (and ``extra_key``)."""
    words = [w for w in _words(lexicon_key, SUPPORTED_LANGUAGES) if w != "hospital de día"]
    forms = _head_forms(words)
    if extra_key is not None:
        forms += _table(extra_key)
    return _literal_alt(forms)


def _hospital_rule(name: str) -> RuleSpec:
    """Build the HOSPITAL rule: head + name, all-capitals names, Basque names and acronyms."""
    heads = _heads("hospital_heads", "hospital_heads")
    caps_words = [w for w in _words("hospital_heads", SUPPORTED_LANGUAGES) if len(w) > 3 and "." not in w]
    caps_heads = _literal_alt(w.upper() for w in caps_words)
    caps_conn = r"(?:DE|DEL|DE[ ]LA|DE[ ]LAS|DE[ ]LOS|LA|LAS|LOS|EL|Y|I|D['’]|DA|DO)"
    caps_word = rf"(?!{caps_conn}(?![\w]))[{_UPPER}][{_UPPER}'’·-]*[{_UPPER}](?![\w])"
    full = rf"(?<![\w]){heads}{_not_after_h()}{_not_a_unit()}{name}(?![\w])"
    return RuleSpec(
        "HospitalRecognizer", "HOSPITAL",
        (
            PatternSpec("hospital", rf"(?P<v>{full})", 0.7, 0),
            # the head and first word alone: kept when the full name runs into a street
            PatternSpec("hospital_short", rf"(?<![\w])(?P<v>{heads}{_not_after_h()}{_not_a_unit()}{facility_name_regex(short=True)})(?![\w])", 0.7, 0),
            PatternSpec("hospital_caps", rf"(?<![\w])(?P<v>(?:{caps_heads})(?:[ \t]+(?:{caps_conn}[ \t]+)*{caps_word}){{1,7}})(?![\w])",
                        0.7, 0),
            PatternSpec("hospital_eu", rf"(?<![\w])(?P<v>(?:[{_UPPER}][{_LOWER}]+[ \t]+){{1,4}}(?:Unibertsitate[ \t]+)?Ospitale(?:a|an|ra|ko|tik|rako)?)(?![\w])", 0.7, 0),
            # "Hospital Universitario La Paz (HULP)": the acronym in brackets is a HOSPITAL too
            PatternSpec("hospital_acronym", rf"(?<![\w]){heads}[^\n()]{{3,80}}?[^\W\d_\"»][ \t]*\((?P<v>H[A-Z0-9]{{1,7}})\)", 0.7, 0),
        ),
        {},
    )


def _institution_rule(name: str) -> RuleSpec:
    """Build the INSTITUCION rule: head + name, fixed names, health services, companies."""
    heads = _heads("institution_heads", "institution_heads")
    fixed = _literal_alt(_table("institution_names"))
    companies = _literal_alt(_table("companies"))
    suffixes = _literal_alt(_table("company_suffixes"))
    service = r"(?:Servicio|Servei|Servizo)[ \t]+(?!de[ \t])[A-ZÁÉÍÓÚ][a-záéíóúñ]+(?:-[A-ZÁÉÍÓÚ][a-záéíóúñ]+)?[ \t]+de[ \t]+(?:la[ \t]+)?(?:Salud|Salut|Saúde)"
    return RuleSpec(
        "InstitutionRecognizer", "INSTITUCION",
        (
            PatternSpec("institution", rf"(?<![\w])(?P<v>{heads}{_not_a_unit()}{name})(?![\w])", 0.65, 0),
            PatternSpec("institution_name", rf"(?<![\w])(?P<v>{fixed})(?![\w])", 0.75, 0),
            PatternSpec("health_service", rf"(?<![\w])(?P<v>{service})(?![\w])", 0.75, 0),
            PatternSpec("company", rf"(?<![\w])(?P<v>{companies}(?:[ \t]+{suffixes}(?![\w]))*)(?![\w])", 0.65, 0),
        ),
        {},
    )


def _centre_rule(name: str) -> RuleSpec:
    """Build the CENTRO_SALUD rule: primary-care heads + name, and Basque ``"… Osasun Zentroa"``.

    Basque names keep their case ending inside the span (``"… Osasun Zentroan"``, "in the …").
    """
    heads = _heads("health_centre_heads")
    return RuleSpec(
        "HealthCentreRecognizer", "CENTRO_SALUD",
        (
            PatternSpec("health_centre", rf"(?<![\w])(?P<v>{heads}{name})(?![\w])", 0.72, 0),
            PatternSpec("health_centre_eu", rf"(?<![\w])(?P<v>(?:[{_UPPER}][{_LOWER}]+[ \t]+){{1,3}}[Oo]sasun[ -][Zz]entro(?:a|an|ra|ko|tik|rako))(?![\w])", 0.72, 0),
        ),
        {},
    )


def _trailing_place_rule() -> RuleSpec:
    """Build a TERRITORIO rule for a city written after a facility name on the same line.

    ``"Hospital San Agustín Avilés"``, ``"… Virgen de las Nieves de Granada"``: the facility
    rules stop before the city, and this rule gives the first listed city within eight words
    of the head. A city inside the facility name (``"Hospital Universitario de Ceuta"``)
    overlaps the stronger facility match and is dropped.
    """
    after = rf"(?:[ \t]+[^\s]+){{1,8}}?[ \t]+(?:{_DE}[ \t]*)?(?P<v>{_city()})"
    return RuleSpec(
        "FacilityPlaceRecognizer", "TERRITORIO",
        (
            PatternSpec("hospital_place", rf"(?<![\w]){_heads('hospital_heads', 'hospital_heads')}{_not_after_h()}{after}", 0.6, 0),
            PatternSpec("institution_place", rf"(?<![\w]){_heads('institution_heads', 'institution_heads')}{after}", 0.6, 0),
            PatternSpec("health_centre_place", rf"(?<![\w]){_heads('health_centre_heads')}{after}", 0.6, 0),
        ),
        {},
    )


def facility_rules() -> list[RuleSpec]:
    """Return the HOSPITAL, CENTRO_SALUD, INSTITUCION and trailing-city TERRITORIO rules."""
    return [
        _hospital_rule(facility_name_regex()),
        _centre_rule(facility_name_regex(named_streets=False)),
        _institution_rule(facility_name_regex(place_after_de=True, named_streets=False)),
        _trailing_place_rule(),
    ]

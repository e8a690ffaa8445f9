"""Rule specifications for protected health information (PHI) in es/ca/eu/gl clinical notes.

The rules are declared once as :class:`RuleSpec` objects (label, regexes, context words,
checksum validator) by :func:`build_specs`. This module does not import Presidio. Two
consumers read the specs:

* :func:`alia_clin.deid.recognizers.build_recognizers` wraps each spec in a Presidio
  ``PatternRecognizer`` for one language, to register in an ``AnalyzerEngine``;
* :class:`alia_clin.deid.rules.RuleEngine` compiles the same regexes with :mod:`re` and runs
  them without Presidio (fast path of the spaCy stage).

Labels follow MEDDOCAN. A regex may hold a named group ``v``: then only that group is the PHI
span (``"NHC: 12345"`` gives ``"12345"``). Scores follow Presidio: a validator that says
``True`` sets the score to 1.0, ``False`` drops the match; context words found in a short
window before the match add :data:`CONTEXT_BOOST`.
"""

# Regex tables read best unwrapped: long pattern lines are allowed in this file only.
# ruff: noqa: E501
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from ..errors import AliaClinValueError, ErrorCode
from . import validators as val

__all__ = [
    "CONTEXT_BOOST",
    "SUPPORTED_LANGUAGES",
    "PatternSpec",
    "RuleSpec",
    "build_specs",
    "check_language",
    "context_words",
    "load_resource",
]

SUPPORTED_LANGUAGES: tuple[str, ...] = ("es", "ca", "eu", "gl")
CONTEXT_BOOST = 0.35
_I = re.IGNORECASE
_RESOURCE_PACKAGE = "alia_clin"
_RESOURCE_DIR = ("resources", "deid")


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatternSpec:
    """One regex of a rule: ``name``, ``regex`` (optional value groups), base ``score``, ``flags``.

    The value is group ``v`` when the regex has one, else the whole match. A regex may name further
    value groups ``v2`` … ``v9``: each that takes part in a match is a span of its own (the columns
    of ``"Apellidos:<TAB>Gil<TAB>Sanz"``); see :func:`value_spans`.

    ``requires`` lists lower-case literals of which at least one occurs in any note the regex can
    match (lower-cased); the fast engine skips the regex in other notes. Empty: always run.

    ``starts`` is a regex (same flags) that matches at every position where a match of ``regex``
    can start; the fast engine then scans the note once with it (shared by the patterns with the
    same ``starts``) and tries ``regex`` only at those positions. Same matches as scanning the
    note with ``regex``. Empty: scan with ``regex`` (or its keyword anchor).

    ``gate_words`` (lower-case whole words) and ``gate_before`` (a lower-case regex for the word
    just before one of them, spaces/tabs between) give the same positions faster: the engine looks
    the words up in the note's word index instead of scanning with ``starts``. They must find
    every position ``starts`` finds (more is allowed); ``starts`` stays the fallback for notes
    whose lower-casing changes their length.
    """

    name: str
    regex: str
    score: float
    flags: int = _I
    requires: tuple[str, ...] = ()
    starts: str = ""
    gate_words: tuple[str, ...] = ()
    gate_before: str = ""


#: Names of the value groups a pattern may have, in order (see :class:`PatternSpec`).
VALUE_GROUPS = ("v", *(f"v{k}" for k in range(2, 10)))


def value_groups(regex: re.Pattern[str]) -> tuple[str, ...]:
    """Return the value groups of ``regex`` (``()`` when its value is the whole match)."""
    return tuple(g for g in VALUE_GROUPS if g in regex.groupindex)


def value_spans(match: re.Match[str], groups: Sequence[str], whole: int | str = 0) -> list[tuple[int, int]]:
    """Return the non-empty ``(start, end)`` spans of the value ``groups`` that took part in ``match``
    (group ``whole``, by default the whole match, when ``groups`` is empty)."""
    spans = map(match.span, groups) if groups else (match.span(whole),)
    return [(s, e) for s, e in spans if e > s >= 0]


@dataclass(frozen=True)
class RuleSpec:
    """A rule: a MEDDOCAN ``label``, its patterns, context words and optional checksum.

    ``context`` maps a language to its context words; ``window`` is how many characters before
    the match are searched for them. ``exclude_context`` words found within ``exclude_window``
    characters before the match drop it (e.g. ages of relatives). ``requires_context`` drops matches without context in the
    fast engine. ``validator`` (True → score 1.0, False → dropped) and ``invalidator``
    (True → dropped) read the matched value.
    """

    name: str
    label: str
    patterns: tuple[PatternSpec, ...]
    context: dict[str, tuple[str, ...]] = field(default_factory=dict)
    window: int = 40
    requires_context: bool = False
    validator: Callable[[str], bool] | None = None
    invalidator: Callable[[str], bool] | None = None
    exclude_context: dict[str, tuple[str, ...]] = field(default_factory=dict)
    exclude_window: int = 25

    def exclude_for(self, languages: Iterable[str]) -> tuple[str, ...]:
        """Return the words that veto a match when found just before it (fast engine only)."""
        seen: dict[str, None] = {}
        for lang in languages:
            for word in self.exclude_context.get(lang, ()):
                seen.setdefault(word.lower(), None)
        return tuple(seen)

    def context_for(self, languages: Iterable[str]) -> tuple[str, ...]:
        """Return the context words of the given languages, deduplicated, order kept."""
        seen: dict[str, None] = {}
        for lang in languages:
            for word in self.context.get(lang, ()):
                seen.setdefault(word.lower(), None)
        return tuple(seen)


# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


@cache
def load_resource(name: str) -> dict[str, Any]:
    """Read the package JSON file ``alia_clin/resources/deid/<name>.json`` and return it."""
    path = resources.files(_RESOURCE_PACKAGE).joinpath(*_RESOURCE_DIR, f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def context_words(key: str) -> dict[str, tuple[str, ...]]:
    """Return the context words of recognizer group ``key`` per language (from ``context.json``)."""
    table = load_resource("context").get(key, {})
    return {lang: tuple(words) for lang, words in table.items()}


def _words(table: str, languages: Sequence[str], resource: str = "lexicon") -> list[str]:
    """Return the union of list ``table`` of ``resource`` over ``languages`` (order kept, no dups)."""
    data = load_resource(resource)[table]
    out: dict[str, None] = {}
    if isinstance(data, list):
        for w in data:
            out.setdefault(w, None)
        return list(out)
    for lang in languages:
        for w in data.get(lang, ()):
            out.setdefault(w, None)
    return list(out)


def _alt(words: Iterable[str], *, spaces: bool = True) -> str:
    """Return a non-capturing regex alternation of ``words``, longest first, escaped.

    With ``spaces`` a space in a word matches any run of spaces/tabs (and an optional comma
    before it, as in ``"varón, de"``).
    """
    items = sorted({w for w in words if w}, key=len, reverse=True)
    parts = []
    for w in items:
        esc = re.escape(w)
        if spaces:
            esc = esc.replace(r"\ ", r",?[ \t]+")
        parts.append(esc)
    return "(?:" + "|".join(parts) + ")"


def _trie_alt(words: Iterable[str], *, spaces: bool = True) -> str:
    """Return a regex alternation of ``words`` factored into a prefix trie (escaped, case kept).

    A plain alternation of hundreds of names makes the regex engine try every name at every
    capital letter; the trie tries each distinct prefix once. With ``spaces`` a space in a word
    matches a run of spaces/tabs, else only itself. No words: a regex that never matches.
    """
    trie: dict[str, Any] = {}
    unique = sorted({w for w in words if w})
    if not unique:
        return "(?!)"  # matches nothing
    for w in unique:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = []
        optional = "" in node
        for ch in sorted(k for k in node if k):
            piece = r"[ \t]+" if ch == " " and spaces else re.escape(ch)
            branches.append(piece + build(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        if optional:
            return "(?:" + body + ")?"
        return body

    return "(?:" + build(trie) + ")"


def place_names() -> list[str]:
    """Return every name of the place gazetteer (``resources/deid/places.json``, all its lists)."""
    places = load_resource("places")
    return [name for key, names in places.items() if not key.startswith("_") for name in names]


# --------------------------------------------------------------------------------------------
# Shared regex pieces
# --------------------------------------------------------------------------------------------

_B = r"(?<![\w])"  # left word boundary (works before non-word characters too)
_E = r"(?![\w])"
_NO = r"(?:n[º°ºo]\.?|núm\.?|num\.?|número|numero|zk\.?)"  # "nº", "núm."
_SEP = r"[ \t]*[:.#]?[ \t]*(?:" + _NO + r"[ \t]*[:.]?[ \t]*)?"  # label separator
_DIGITS = r"\d+(?:[ \t]?[/-]?[ \t]?\d+)*"  # digit groups on one line: "22 75689632 36", "3487/88"
_UPPER = "A-ZÁÉÍÓÚÀÈÒÜÏÑÇ"
_LOWER = "a-záéíóúàèòüïñç"
_CAPWORD = rf"[{_UPPER}][{_LOWER}{_UPPER}'’·-]*"


def _id_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build the identifier rules: DNI/NIE/CIF/NASS/IBAN with checksums and label-driven ids."""
    dni = RuleSpec(
        "DniRecognizer", "ID_SUJETO_ASISTENCIA",
        (
            PatternSpec("dni", rf"(?<![\w-])(?P<v>\d{{8}}[ -]?[A-Z]){_E}", 0.4, 0),
            # with thousands dots: "12.345.678-Z"
            PatternSpec("dni_dots", rf"(?<![\w.-])(?P<v>\d{{2}}\.\d{{3}}\.\d{{3}}[ -]?[A-Z]){_E}", 0.4, 0),
        ),
        context_words("dni"), validator=val.is_valid_dni,
    )
    nie = RuleSpec(
        "NieRecognizer", "ID_SUJETO_ASISTENCIA",
        (PatternSpec("nie", rf"{_B}(?P<v>[XYZ][ -]?\d{{7}}[ -]?[A-Z]){_E}", 0.4, 0),),
        context_words("nie"), validator=val.is_valid_nie,
    )
    cif = RuleSpec(
        "CifRecognizer", "OTROS_SUJETO_ASISTENCIA",
        (PatternSpec("cif", rf"{_B}(?P<v>[ABCDEFGHJNPQRSUVW][ -]?\d{{7}}[ -]?[0-9A-J]){_E}", 0.3, 0),),
        context_words("cif"), validator=val.is_valid_cif,
    )
    nass = RuleSpec(
        "NassRecognizer", "ID_ASEGURAMIENTO",
        (PatternSpec("nass", r"(?<![\w/-])(?P<v>\d{2}[ /-]?\d{8}[ /-]?\d{2})(?![\w/-])", 0.3, 0),),
        context_words("nass"), validator=val.is_valid_nass,
    )
    iban = RuleSpec(
        "IbanRecognizer", "OTROS_SUJETO_ASISTENCIA",
        (PatternSpec(
            "iban", rf"{_B}(?P<v>[A-Z]{{2}}\d{{2}}(?:[ ]?[A-Z0-9]{{4}}){{2,7}}(?:[ ]?[A-Z0-9]{{1,4}})?){_E}",
            0.4, 0,
        ),),
        context_words("iban"), validator=val.is_valid_iban,
    )
    return [dni, nie, cif, nass, iban, *_labelled_id_rules(languages)]


def _labelled_id_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build the label-driven id rules (``"NHC: 123"``, ``"NASS: ..."``, ``"NºCol: ..."``…).

    MEDDOCAN's synthetic identifiers rarely carry valid checksums, so these trust the label.
    """
    del languages  # the label words below already cover es/ca/eu/gl
    record_labels = (
        r"N\.?H\.?C\.?|n[º°o]?[ \t]*(?:de[ \t]+)?hist(?:oria|òria)?\.?(?:[ \t]+cl[ií]nica)?"
        r"|hist(?:oria|òria)[ \t]+cl[ií]nica|historia[ \t]+klinikoa|H\.?C\.?(?=[ \t]*:)|MRN"
        r"|n[úu]m\.?[ \t]*d['’]hist[òo]ria"
    )
    record = RuleSpec(
        "MedicalRecordRecognizer", "ID_SUJETO_ASISTENCIA",
        (
            PatternSpec("nhc", rf"{_B}(?:{record_labels})(?:{_SEP}|[ \t]*-[ \t]*)(?P<v>(?:[A-Z]{{1,3}}-?)?{_DIGITS}){_E}",
                        0.9),
            PatternSpec("id_doc", rf"{_B}(?:D\.?N\.?I\.?|N\.?I\.?F\.?|N\.?I\.?E\.?|NAN|pasaporte|passaport|pasaportea)"
                        rf"{_SEP}(?P<v>[XYZ]?[ -]?\d{{7,8}}(?:[ -]?[A-Z])?|[A-Z]{{2,3}}\d{{6,7}}){_E}", 0.85),
        ),
        context_words("record"),
    )
    # letters and digits in hyphenated groups: "24-ABC-0051277" (whole token)
    episode_code = r"(?=[\w-]*\d)(?=[\w-]*[a-z])[0-9a-z]+(?:-[0-9a-z]+)+(?![\w-])"
    episode = RuleSpec(
        "EpisodeRecognizer", "ID_CONTACTO_ASISTENCIAL",
        (PatternSpec(
            "episode",
            rf"{_B}(?:episodio|episodi|atala|episodioa|{_NO}[ \t]*(?:de[ \t]+)?(?:episodio|ingreso|asistencia|ingr[ée]s)"
            rf"|(?:ingreso|ingr[ée]s)[ \t]+{_NO}){_SEP}(?P<v>{episode_code}|{_DIGITS}){_E}",
            0.9,
        ),),
        context_words("episode"),
    )
    nass_labels = (
        r"N\.?A\.?S\.?S\.?|NAF|NUSS|N[º°o]\.?[ \t]*(?:de[ \t]+)?(?:la[ \t]+)?S\.?S\.?"
        r"|n[úu]mero[ \t]+de[ \t]+(?:la[ \t]+)?(?:seguridad[ \t]+social|afiliaci[óo]n)"
        r"|seguridad[ \t]+social|seguretat[ \t]+social|seguridade[ \t]+social"
        r"|gizarte[ -]segurantza(?:ko)?(?:[ \t]+zenbakia)?|n[úu]m\.?[ \t]+d['’]afiliaci[óo]"
    )
    nass_label = RuleSpec(
        "NassLabelRecognizer", "ID_ASEGURAMIENTO",
        (PatternSpec("nass_label", rf"{_B}(?:{nass_labels}){_SEP}(?P<v>{_DIGITS}){_E}", 0.9),),
        context_words("nass"),
    )
    card_labels = (
        r"CIP(?:A|[- ]SNS|[ \t]+auton[óo]mico)?|TSI|TIS|NUHSA"
        r"|tarjeta[ \t]+(?:individual[ \t]+)?sanitaria|targeta[ \t]+sanit[àa]ria|tarxeta[ \t]+sanitaria"
        r"|osasun[ -]txartela"
    )
    card = RuleSpec(
        "HealthCardRecognizer", "ID_ASEGURAMIENTO",
        (
            PatternSpec("card_label", rf"{_B}(?:{card_labels}){_SEP}(?P<v>(?:[A-Z]{{2,4}}[ ]?)?\d(?:[ ]?\d){{5,15}}[A-Z]?){_E}",
                        0.9),
            # CatSalut CIP: 4 letters (surnames) + 10 digits, e.g. "ABCD0123456789"
            PatternSpec("cip_catsalut", rf"{_B}(?P<v>[A-Z]{{4}}[ ]?\d{{10}}){_E}", 0.6, 0),
            # CIP-SNS style: 4 letters + 12 digits
            PatternSpec("cip_sns", rf"{_B}(?P<v>[A-Z]{{4}}\d{{12}}){_E}", 0.6, 0),
            # Andalusian NUHSA (SAS): "AN" + 10 digits
            PatternSpec("nuhsa", rf"{_B}(?P<v>AN[ ]?\d{{10}}){_E}", 0.6, 0),
        ),
        context_words("health_card"),
    )
    licence_labels = (
        r"N[º°o]\.?[ \t]*(?:de[ \t]+)?Col(?:egiad[oa]|·legiat|exiad[oa])?\.?"
        r"|Col(?:egiad[oa]|exiad[oa])?\.?[ \t]*n[º°o]\.?"
        r"|n[úu]m(?:ero)?\.?[ \t]*(?:de[ \t]+)?col(?:egiad[oa]|·legiat|exiad[oa])?\.?"
        r"|colegiad[oa]|col·legiat|col·legiada|colexiad[oa]|elkargokide(?:[ \t]+zk\.?)?|CNP"
    )
    licence = RuleSpec(
        "LicenceNumberRecognizer", "ID_TITULACION_PERSONAL_SANITARIO",
        (PatternSpec("licence", rf"{_B}(?:{licence_labels}){_SEP}(?P<v>{_DIGITS}){_E}", 0.9),),
        context_words("licence"),
    )
    employee = RuleSpec(
        "EmployeeNumberRecognizer", "ID_EMPLEO_PERSONAL_SANITARIO",
        (PatternSpec(
            "employee",
            rf"{_B}(?:{_NO}[ \t]*(?:de[ \t]+)?(?:empleado|empleat|empregado|personal)|c[óo]digo[ \t]+de[ \t]+empleado"
            rf"|langile[ \t]+(?:zenbakia|zk\.?)){_SEP}(?P<v>[A-Z]{{0,3}}{_DIGITS}){_E}",
            0.85,
        ),),
        context_words("employee"),
    )
    return [record, episode, nass_label, card, licence, employee]


def _phone_digits_invalid(value: str) -> bool:
    """Return True when a phone candidate does not hold 9 digits (11 with 34, 13 with 0034)."""
    main = re.split(r"(?i)\s*ext", value, maxsplit=1)[0]
    n = sum(ch.isdigit() for ch in main)
    return n not in (9, 11, 13)


def _contact_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build phone, fax, e-mail, URL and IP rules."""
    del languages
    phone_re = (
        r"(?<![\w+/-])(?<!\d[ .-])(?<!\d)\+?(?P<v>(?:(?:00[ ]?)?34[ .-]?)?\(?[6789]\)?(?:(?:[ ]{1,2}|[.-])?\d){8}"
        r"(?:[ ]*ext\.?[ ]*\d{1,5})?)(?![\d]|[ .-]\d)"
    )
    phone = RuleSpec(
        "PhoneRecognizer", "NUMERO_TELEFONO",
        (PatternSpec("phone_es", phone_re, 0.4),),
        {lang: (*words, "citas", "cita previa", "telfs", "tfnos", "tlfs") if lang == "es" else words
         for lang, words in context_words("phone").items()},
        window=40, invalidator=_phone_digits_invalid,
    )
    fax = RuleSpec(
        "FaxRecognizer", "NUMERO_FAX",
        (PatternSpec("fax_es", phone_re, 0.45),),
        context_words("fax"), window=12, requires_context=True, invalidator=_phone_digits_invalid,
    )
    email = RuleSpec(
        "EmailRecognizer", "CORREO_ELECTRONICO",
        (PatternSpec("email", r"(?<![\w.+-])(?P<v>[\w.+-]*\w@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,})(?![\w-])", 0.9),),
        context_words("email"),
    )
    tlds = "com|es|org|net|cat|eus|gal|edu|gov|info|eu|int|io|uk|fr|pt|de|it"
    url = RuleSpec(
        "UrlRecognizer", "URL_WEB",
        (
            PatternSpec("url_scheme", r"(?<![@\w.-])(?P<v>(?:https?://|www\.)[^\s<>\"'()]*[^\s<>\"'().,;:!?])(?![@\w])",
                        0.8),
            PatternSpec(
                "url_domain",
                rf"(?<![@\w.-])(?P<v>[a-z0-9][\w-]*(?:\.[\w-]+)*\.(?:{tlds})(?:/[^\s<>\"']*[^\s<>\"'.,;:!?)])?)"
                r"(?![\w@-]|\.\w)",
                0.55,
            ),
        ),
        context_words("url"),
    )
    ip = RuleSpec(
        "IpRecognizer", "DIREC_PROT_INTERNET",
        (
            PatternSpec("ipv4", r"(?<![\w.])(?P<v>\d{1,3}(?:\.\d{1,3}){3})(?![\w]|\.\d)", 0.4),
            PatternSpec("ipv6", r"(?<![\w:])(?P<v>(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4})(?![\w:])", 0.6),
        ),
        context_words("ip"), validator=_ip_valid,
    )
    return [phone, fax, email, url, ip]


def _ip_valid(value: str) -> bool:
    """Return True for a valid dotted IPv4 or any IPv6 candidate (already shaped by the regex)."""
    return val.is_valid_ipv4(value) if "." in value else True


def _date_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build date rules: numeric dates, written months (es/ca/eu/gl), ``año 2000`` and bare years."""
    months_all = _words("months", SUPPORTED_LANGUAGES)
    months = _alt(months_all, spaces=False)
    abbr = _alt(_words("month_abbreviations", SUPPORTED_LANGUAGES), spaces=False)
    eu_months = _alt(_words("months", ("eu",)), spaces=False)
    year = r"(?:1[89]\d{2}|20\d{2}|['’]?\d{2})"
    day = r"(?:[0-3]?\d|1\.?º|primero|1er)"
    day_sep = r"(?:[ \t]+de[ \t]+|[ \t]+d['’][ \t]?|[ \t]*[-/.][ \t]*|[ \t]+)"
    year_sep = r"(?:[ \t]+(?:de|del|de[ \t]+l['’])[ \t]+(?:(?:año|any|ano)[ \t]+)?|[ \t]*[-/,.][ \t]*|[ \t]+)"
    written = (
        rf"{_B}(?<!Universitario )(?<!Universitario \")(?<!Hospital )(?P<v>{day}{day_sep}(?:de[ \t]+|d['’])?{months}(?:{year_sep}{year})?"
        rf"|{months}{year_sep}{year})(?!\w|/\d)"
    )
    basque = (
        rf"{_B}(?P<v>(?:1[89]|20)\d{{2}}(?:\.?(?:e?ko)|[ \t]+urteko)[ \t]+{eu_months}\w*"
        rf"(?:[ \t]+(?:[0-3]?\d)(?:\.?(?:a|an|ean|ean|ko|a))?)?){_E}"
    )
    numeric = RuleSpec(
        "DateNumericRecognizer", "FECHAS",
        (
            PatternSpec(
                "date_dmy",
                r"(?<![\w/.-])(?P<v>[0-3]?\d[ \t]?[/.-][ \t]?[01]?\d[ \t]?(?:[/.-]|//)[ \t]?(?:\d{4}|\d{2}))"
                r"(?![\w/-]|[.,]\d)",
                0.6,
            ),
            # ISO 8601 also with its time: "2024-03-12T10:35:00" (exports, HL7 and FHIR timestamps)
            PatternSpec("date_ymd",
                        r"(?<![\w/.-])(?P<v>(?:1[89]|20)\d{2}[/-][01]?\d[/-][0-3]?\d)(?:(?=T[0-2]\d:)|(?![\w/-]|[.,]\d))",
                        0.6),
        ),
        context_words("date"), validator=val.is_valid_date,
    )
    written_rule = RuleSpec(
        "DateWrittenRecognizer", "FECHAS",
        (
            PatternSpec("date_written", written, 0.85),
            PatternSpec("date_abbr", rf"{_B}(?P<v>[0-3]?\d[ \t]*[-/ ][ \t]*{abbr}\.?[ \t]*[-/ ][ \t]*{year}){_E}", 0.7),
            PatternSpec("date_eu", basque, 0.85),
            # month and year: "03/2024" (a two-digit month: "1/2048" is a titre)
            PatternSpec("date_month_year", r"(?<![\w/.,-])(?P<v>(?:0[1-9]|1[0-2])/(?:19|20)\d{2})(?![\w/-]|[.,]\d)", 0.6),
            PatternSpec("date_year_word", rf"{_B}(?P<v>(?:año|any|ano|urte)[ \t]+(?:1[89]\d{{2}}|20\d{{2}})){_E}",
                        0.8),
        ),
        context_words("date"),
    )
    unit_guard = r"(?![ \t]*(?:mg|ml|mL|g|gr|kg|cc|ui|u|mm|cm|m|µ|mcg|ng|pg|mmol|meq|cel|células|pacientes|casos|/))"
    years = RuleSpec(
        "YearRecognizer", "FECHAS",
        (PatternSpec(
            "year", rf"(?<![\w.,/-])(?P<v>(?:19\d{{2}}|20[0-4]\d))(?![\w/-]|[.,]\d){unit_guard}", 0.3,
        ),),
        context_words("year"), window=22, requires_context=True,
    )
    del languages
    return [numeric, written_rule, years]


def _person_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build age and sex rules."""
    units = _alt(_words("age_units", SUPPORTED_LANGUAGES), spaces=False)
    nums = _alt(_words("number_words", SUPPORTED_LANGUAGES), spaces=False)
    num = rf"(?:\d{{1,3}}(?:[.,]5)?|{nums}(?:[ \t]+y[ \t]+{nums})?)"
    intro = _alt(_words("age_introducers", SUPPORTED_LANGUAGES))
    age_labels = _alt(_words("age_labels", SUPPORTED_LANGUAGES))
    age_value = rf"{num}[ \t]+{units}(?:,?[ \t]+y[ \t]+(?:{num}[ \t]+{units}|medio)|[ \t]+i[ \t]+{num}[ \t]+{units})?"
    # "67 a." after an introducer ("Varón de 67a.", "paciente de 67 a."); not "de 6 a 8 …"
    short_value = r"\d{1,3}[ \t]?a\.?(?![\w])(?![ \t]*\d)"
    # a sex word or "paciente", then a comma or a bracket: "Mujer, 67 años", "Varón, de 67 años",
    # "sexo femenino, 23 años", "Paciente (67 años)"; not a duration ("…, 2 años de evolución")
    person_words = [*_words("sex_words", SUPPORTED_LANGUAGES), "paciente", "pacient"]
    person = _alt(person_words)
    name_before = "(?:" + "|".join(rf"(?<=(?<![\w])[{_UPPER}][{_LOWER}]{{{n}}})" for n in range(1, 16)) + ")"
    after_person = rf"{_B}(?:{person})[ \t]*(?:,[ \t]*(?:de[ \t]+)?|\([ \t]*)(?P<v>{age_value})(?![\w])(?![ \t]+de[ \t]+(?!edad))"
    age = RuleSpec(
        "AgeRecognizer", "EDAD_SUJETO_ASISTENCIA",
        (
            PatternSpec("age_label",
                        rf"{_B}{age_labels}[ \t]*[:.]?[ \t]*(?P<v>\d{{1,3}}(?:[ \t]*(?:{units}|a\.?)(?!\w))?){_E}", 0.9),
            PatternSpec("age_intro", rf"{_B}{intro}[ \t]+(?P<v>{age_value}|{short_value}){_E}", 0.85),
            PatternSpec("age_after_person", after_person, 0.85,
                        **_first_word_gate(person_words, "sex_words")._asdict()),
            # ", de 67 años" after a capitalised word (a name): "Sr. Antonio García, de 80 años, acude …"
            # (the match starts at the comma, the word before is checked by fixed-width look-behinds:
            # the engine then scans for ", de" instead of trying every capitalised word)
            PatternSpec("age_after_name",
                        rf"{name_before},[ \t]+de[ \t]+(?P<v>{age_value})(?![\w])(?![ \t]+de[ \t]+(?!edad))", 0.85, 0),
            # the age in brackets after a (birth) date: "Fecha nacimiento: 14/07/1948 (75 años)"
            PatternSpec("age_after_date",
                        rf"(?<![\w/.-])[0-3]?\d[/.-][01]?\d[/.-](?:\d{{4}}|\d{{2}})[ \t]*\([ \t]*(?P<v>{age_value})[ \t]*\)", 0.85),
            PatternSpec(
                "age_at",
                rf"{_B}(?:a|desde|hasta|hacia)[ \t]+los[ \t]+(?P<v>{num}[ \t]+(?:años|anys|anos))"
                r"(?![ \t]+(?:de[ \t]+(?!edad|vida)|del[ \t]|d['’]|tras|despu[ée]s|post)|\w)",
                0.75,
            ),
            PatternSpec(
                "age_at_infant",
                rf"{_B}(?:a|desde|hasta|hacia)[ \t]+los[ \t]+(?P<v>{num}[ \t]+(?:meses|días|dias|semanas))"
                r"(?=[ \t]+de[ \t]+(?:edad|vida))",
                0.75,
            ),
            PatternSpec("age_at_ca_gl", rf"{_B}(?:als|aos)[ \t]+(?P<v>{num}[ \t]+(?:anys|anos)){_E}", 0.75),
            PatternSpec("age_de_edad", rf"{_B}(?P<v>{age_value})[ \t]+(?:de[ \t]+edad|d['’]edat|de[ \t]+idade){_E}", 0.8),
            PatternSpec("age_eu", rf"{_B}(?P<v>\d{{1,3}}[ \t]+(?:urte|hilabete|egun))(?:ko)?[ \t]+"
                        r"(?:gizon|emakume|gaixo|haur|neska|mutil|paziente|umea|adineko)\w*", 0.85),
        ),
        context_words("age"),
        exclude_context=context_words("family"),
    )
    sex_words = _alt(_words("sex_words", SUPPORTED_LANGUAGES))
    sex_nouns = _alt(_words("sex_nouns", SUPPORTED_LANGUAGES))
    sex_labels = _alt(_words("sex_labels", SUPPORTED_LANGUAGES))
    codes = _alt(_words("sex_codes", SUPPORTED_LANGUAGES))
    sex = RuleSpec(
        "SexRecognizer", "SEXO_SUJETO_ASISTENCIA",
        (
            PatternSpec("sex_label", rf"{_B}{sex_labels}[ \t]*[:.]?[ \t]*(?P<v>{codes}){_E}", 0.9),
            PatternSpec(
                "sex_prose",
                rf"{_B}(?P<v>{sex_words})(?=,?[ \t]+(?:de[ \t]+|d['’]|edad[ \t]+|(?:de[ \t]+)?raza[ \t]+\w+[ \t]+de[ \t]+)?"
                rf"{num}[ \t]+{units}{_E})",
                0.8,
            ),
            PatternSpec("sex_eu", r"\d{1,3}[ \t]+(?:urte|hilabete)(?:ko)?[ \t]+(?P<v>gizon\w*|emakume\w*|mutil\w*|neska\w*)",
                        0.85),
            # MEDDOCAN marks the patient's sex word wherever it stands ("la niña no rechaza…"); a
            # possessive makes it a relative ("su mujer"), left to the family rule
            PatternSpec("sex_noun", rf"{_B}(?<!\bsu[ ])(?<!\bsus[ ])(?<!\bla[ ]otra[ ])(?P<v>{sex_nouns}){_E}", 0.55),
        ),
        context_words("sex"),
    )
    del languages
    return [age, sex]


def _street_type_regex(*, capitalised: bool) -> str:
    """Return an alternation of street types (all languages), case-sensitive as listed.

    With ``capitalised`` it holds the listed types that start with a capital or a symbol
    (``"Calle"``, ``"C/"``, ``"Avda."``) and the all-capitals forms of ``street_types_caps``
    (``"AV."``, ``"CALLE"``); a word type may then carry a stray period
    (``"Avenida. Castellana"``). Otherwise it holds the lower-case full words (``"calle"``…).
    Word types must be followed by a space.
    """
    if capitalised:
        listed = {w for w in _words("street_types", SUPPORTED_LANGUAGES) if not w[0].islower()}
        listed |= set(_words("street_types_caps", ()))  # "AV. San Francisco 7", "CALLE MAYOR 3"
    else:
        listed = set(_words("street_types_lowercase", ())) | {
            w for w in _words("street_types", SUPPORTED_LANGUAGES) if w[0].islower()
        }
    parts = []
    for w in sorted(listed, key=len, reverse=True):
        esc = re.escape(w).replace(r"\ ", r"[ \t]+")
        if w[-1].isalpha():
            esc += r"\.?(?=[ \t])" if capitalised else r"(?=[ \t])"
        parts.append(esc)
    return "(?:" + "|".join(parts) + ")"


#: Abbreviations that may end with a period inside a street name ("Calle del Dr. Esquerdo").
_NAME_ABBREVIATIONS = (
    "Dr", "Dra", "Prof", "Hnos", "Hno", "Sta", "Sto", "Sr", "Sra", "Gral", "Ntra", "Av", "Avda", "Pza",
    "Pº", "Cdte", "Pdte", "Mtro", "Nnal", "Ctra", "Carr", "Urb", "No", "Col", "Pz", "Pa", "Prol",
)
_AFTER_ABBREVIATION = (
    "(?:" + "|".join(rf"(?<=[^\w.]{re.escape(a)})" for a in _NAME_ABBREVIATIONS)
    + rf"|(?<=[^\w.][{_UPPER}]))"
)
#: A period that ends a sentence: followed by a space, not closing an abbreviation or initial.
_SENTENCE_END = rf"(?!{_AFTER_ABBREVIATION})\.[ \t]+(?=[{_UPPER}{_LOWER}]{{2}})"

_DOOR = r"(?<!\.[ ])(?!C\.?[ ]?P\b)[A-Z](?![\w-])"
_FLOOR_TOKEN = (
    rf"(?:\d{{1,2}}(?:[ ]?\.?[ ]?[ºª°o](?:[a-z](?![\w]))?)?(?:[ ]?(?:{_DOOR}|(?i:iz\w*|d(?:cha|cho|er|ra|rcha)\w*)(?![a-z])))?(?!\d)"
    rf"|{_DOOR}|[A-Z]-\d{{1,2}}(?![\w-])|P\d{{1,2}}(?!\d)"
    r"|(?i:bajos?|s[óo]tano|entlo|entresuelo|[áa]tico|principal|pral|iz\w*|dcha|dcho|drcha|der(?![a-z])|derecha"
    r"|esquerra|dreta|ezkerra|eskuina"
    r"|(?:puerta|porta|portal|esc(?:alera)?\.?|edf\.?|ed\.|edif\.?|edificio|bloque|blq\.?|nave|local|apto\.?|apartamento)[ ]?\w{1,4}(?!\w)"
    r"|(?:piso|pis|planta)(?:[ ]\w{1,3}(?!\w))?)|\w{1,2}[ºª])"
)
#: Street number: "12", "12B", "119-129", "44/ 202", "1 y 3", "nº 23", "# 4800", "nave 4", "s/n", optional "km 5".
_KM = r"(?:,?[ \t]*[kK][mM]\.?[ \t]*\d+(?:[.,]\d+)?)"
_STREET_NUMBER = (
    r"(?:(?:,|\.(?=[ \t]*[nN][º°]))?[ \t]*(?:[nN][º°o]\.?[ \t]*|No\.[ \t]*|#[ \t]*|n[úu]m\.?[ \t]*|n[úu]mero[ \t]+|[Nn]ave[ \t]+|[Pp]arcela[ \t]+)?"
    r"(?:\d{1,4}(?:[A-Za-z]|[ºª](?=[ \t]*[-,]))?(?![\d])(?:[ ]*[-/][ ]*\d{1,4}(?![\dºª°o])|[ ]+y[ ]+\d{1,4}(?!\d))?|[sS][ ]?/[ ]?[nN]|SN|sn)"
    rf"{_KM}?)"
)
_FLOORS = rf"(?:[ ]*[,.-]?[ ]*{_FLOOR_TOKEN}){{0,3}}"
#: What may follow a street: a postal code ("28013", "E-28013", "(28013)") on the same line.
_POSTAL_AHEAD = r"(?=[ \t]*[,.-]?[ \t]*(?:E-)?\(?(?<!\d)\d{5}(?!\d))"
_STREET_CONNECTOR = r"(?:de|del|la|las|los|el|i|y|da|do|dos|das|d['’])"
#: Hospital-name words after which a street may start ("Hospital General Universitario Hermanos Falcó").
_FACILITY_DESCRIPTORS = (
    "Universitario", "Universitaria", "Universitari", "General", "Clínico", "Provincial", "Comarcal",
    "Infantil",
)
#: A short untyped street (1-3 capitalised words, number, floors) right before a postal code.
_BARE_STREET = (
    rf"(?!(?:{'|'.join(_FACILITY_DESCRIPTORS)})\b){_CAPWORD}(?:[ \t]+(?:{_STREET_CONNECTOR}[ \t]+)?{_CAPWORD}){{0,2}}"
    rf"{_STREET_NUMBER}{_FLOORS}(?![\w]){_POSTAL_AHEAD}"
)
#: A Mexican "colonia" after the number: "Galeana Sur No. 465, Col. Obraje", "# 4800 Colonia Sección XVI".
_COLONIA = (
    rf"(?:,?[ \t]+Col(?:\.|onia)[ \t]+{_CAPWORD}(?:[ \t]+(?:{_STREET_CONNECTOR}[ \t]+)?{_CAPWORD}){{0,2}}(?![\w]))?"
)
#: An untyped street after a sentence end in a sender line, with a number and no postal code:
#: capitalised words (not a facility or service), number, floors, then a capitalised word
#: (the town) or an opening parenthesis after a comma or period, or the line end: "Santa Rosa 571, Recoleta".
_UNTYPED_STREET = (
    r"(?!(?:Hospital|Hospitalario|Complejo|Cl[íi]nica|Centro|Servicio|Servei|Unidad|Unitat|Secci[óo]n|Departamento|Dpto|"
    r"Instituto|Institut|Fundaci[óo]n?|Universidad|Universitat|Facultad|Planta|Consulta|Box|Tel|Tfno|Fax|Correo|E-mail"
    r"|Email|Apartado|Hosp|C\.?P|[ÁA]rea|Zona|Sector|Distrito|Regi[óo]n)(?![\w]))"
    rf"{_CAPWORD}(?:[ \t]+(?:{_STREET_CONNECTOR}[ \t]+)?{_CAPWORD}){{0,3}}"
    rf"{_STREET_NUMBER}{_FLOORS}(?![\w])(?=[ \t]*(?:[,.][ \t]*[{_UPPER}(]|[,.]?[ \t]*(?:\r?\n|$)))"
)
#: Grid address number (Colombia and others): "78b Numero 69-240", "25 no 1g-89", "3 # 49-00".
_GRID_NUMBER = (
    r"\d{1,3}[A-Za-z]?(?:[ \t]+(?:Bis|Sur|Norte|Este|Oeste))?[ \t]*(?:#|[Nn][º°o]\.?|N[úu]mero|n[úu]mero)[ \t]*"
    r"\d{1,3}[A-Za-z]?[ \t]*-[ \t]*\d{1,3}[A-Za-z]?"
)
#: A street written in lower case in prose, only with a number after a comma or before a postal code:
#: "vive en la calle embajadores, 23, 2 A" (not "en la calle hace 2 días").
_LOWER_STREET = (
    rf"(?:calle|c/)[ \t]+(?!(?:{_STREET_CONNECTOR})[ \t])[{_LOWER}]{{3,}}(?:[ \t]+(?:{_STREET_CONNECTOR}[ \t]+)?[{_LOWER}]{{3,}}){{0,2}}"
    rf"(?:,[ \t]*\d{{1,4}}[A-Za-z]?(?!\d){_FLOORS}(?![\w])"
    rf"|[ \t]+\d{{1,4}}(?![\w]){_POSTAL_AHEAD})"
)


class _WordGate(NamedTuple):
    """The ``starts`` and ``gate_words`` of a :class:`PatternSpec` (pass them as ``**gate._asdict()``)."""

    starts: str
    gate_words: tuple[str, ...]


def _first_word_gate(forms: Iterable[str], table: str) -> _WordGate:
    """Return the gate of a regex (of any case handling) whose matches open with one of ``forms``.

    ``gate_words`` are the forms' first words (their leading run of ``\\w``, lower-cased) and
    ``starts`` finds those words whole in any case (see :class:`PatternSpec`): both find every
    place such a match can start. Raises ``E054`` for a form of lexicon ``table`` that does not
    open with a word character (its matches could start where no word is).
    """
    first = set()
    for form in forms:
        head = re.match(r"\w+", form)
        if head is None:
            raise AliaClinValueError(ErrorCode.E054, table=table, reason="a gated form must open with a letter or digit")
        first.add(head.group().lower())
    return _WordGate(rf"{_B}(?i:{_alt(first, spaces=False)})(?![\w])", tuple(sorted(first)))


@cache
def _named_street() -> str:
    """Return a regex for an untyped street before a postal code, written after a facility name.

    The street opens with a given name (:func:`_given_names`) or an opener of
    ``street_name_openers`` (``"San"``, ``"Doctor"``…) and holds no later opener, so
    ``"Hospital Universitario Doctor Peset Gaspar Aguilar 90. 46017"`` gives
    ``"Gaspar Aguilar 90"``; or it is one capitalised word before a comma and a number
    (``"… La Mancha Centro Constitución, 3 13600"``).
    """
    given = _given_names()
    # The ~900 given names sit in a double negative look-ahead, i.e. "(?=name)", which the
    # keyword-anchor analysis (alia_clin.deid.anchors) does not descend into: expanding them
    # there would cost seconds at every engine build.
    given_name = rf"(?!(?!{_trie_alt(given)}(?![\w]))){_CAPWORD}"
    first = rf"(?:{_alt(_words('street_name_openers', SUPPORTED_LANGUAGES))}(?![\w])|{given_name})"
    # a typed street ("Ctra", "Avenida") or a facility word ends the facility name, not a street
    not_street = rf"(?!(?:{_street_type_regex(capitalised=True)}|(?:{'|'.join(_FACILITY_DESCRIPTORS)})(?![\w])))"
    word = rf"(?:{_STREET_CONNECTOR}[ \t]+)?(?!{first}){not_street}{_CAPWORD}"
    return (
        rf"(?:{first}(?:[ \t]+{first})?(?:[ \t]+{word}){{0,3}}|{not_street}{_CAPWORD}(?=,))"
        rf"{_STREET_NUMBER}{_FLOORS}(?![\w]){_POSTAL_AHEAD}"
    )


def _address_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build street address (CALLE), postal code and locality (TERRITORIO) and country rules.

    A street span never crosses a line end, a sentence end, a postal code or a contact label
    such as ``"Tel."``: ``"Calle Mayor 12, 3º B, 28013 Madrid. Tel.: …"`` gives
    ``"Calle Mayor 12, 3º B"``.
    """
    stype_cap = _street_type_regex(capitalised=True)
    stype_low = _street_type_regex(capitalised=False)
    name_char = rf"(?:{_AFTER_ABBREVIATION}\.|(?!\.[ \t]+[{_UPPER}])[^\n,;:()0-9])"
    # number and floors, or no number when a postal code follows ("Paseo de la Libertad. 02001")
    tail = rf"(?:(?:{_STREET_NUMBER}|{_KM}){_FLOORS}{_COLONIA}|(?<=[^\s.,-]){_POSTAL_AHEAD})"
    upper_body = rf"(?=(?:{_STREET_CONNECTOR}[ \t]+)*[{_UPPER}]){name_char}{{1,60}}?{tail}"
    any_body = rf"(?=[^\W\d_]){name_char}{{1,60}}?{tail}"
    street_start = r"(?<![\w])(?<!\bdel )(?<!\bde )"
    addr_labels = _alt(_words("address_labels", SUPPORTED_LANGUAGES))
    # "Medicación en domicilio:", "Hospitalización a domicilio:" head a list, not an address
    not_in_prose = "".join(rf"(?<![^\w]{w}[ ])" for w in ("en", "a", "su", "al", "el", "de", "do", "na", "no", "la"))
    eu_post = _alt(_words("street_postfix_types", ("eu",)))
    contact = r"(?:tel|tfno|telf|tlf|tfn|tfnos?|tel[ée]fono|m[óo]vil|fax|e-?mail|correo|c\.?[ ]?p\.?|c[óo]digo[ \t]+postal)\b"
    label_end = (
        rf"(?=[ \t.,]*(?:\r?\n|$)|[ \t]*[,;-]?[ \t]*(?:e-)?\(?(?<!\d)\d{{5}}(?!\d)"
        rf"|[ \t]*[,.;]?[ \t]*{contact}|{_SENTENCE_END})"
    )
    # a labelled address that fills its line is one street, floor and door included, even across a
    # period ("Domicilio: C Bizkarreta, 1. Bajo A."), unless the line also holds a postal code,
    # a contact label, after a comma or period a place of the gazetteer, or after a sentence end
    # a lower-case word of four letters or more (prose: "Domicilio: Calle Luna 3. Refiere dolor.")
    gazetteer = _trie_alt(place_names())
    line_place = rf"[.,][ \t]*(?:{gazetteer})(?![\w])"
    whole_line = (
        rf"(?![^\n]*?(?:(?<!\d)\d{{5}}(?!\d)|(?<![\w])(?i:{contact})|{line_place}"
        rf"|{_SENTENCE_END}[^\n]*?[ \t][{_LOWER}]{{4}}))"
        rf"[^\n]*?[^\s.,](?=[ \t.,]*(?:\r?\n|$))"
    )
    # the colon after an address label, not before a bare number or an e-mail address
    label_colon = r"[ \t]*:[ \t]*(?![\d \t]+[.,]?[ \t]*(?:\r?\n|$))(?![ \t]*[^\s@]+@[^\s@]+\.)[ \t]*"
    head_forms = _cap_first(_words("hospital_heads", SUPPORTED_LANGUAGES) + _words("health_centre_heads", SUPPORTED_LANGUAGES))
    institution_forms = _cap_first(_words("institution_heads", SUPPORTED_LANGUAGES))
    heads = _alt(head_forms)
    all_heads = _alt(institution_forms) + "|" + heads
    # the streets after a facility are tried only where a facility name's first word stands
    facility_gate = _first_word_gate([*head_forms, *institution_forms, "Centro"], "hospital_heads/health_centre_heads/institution_heads")
    conn = _alt(load_resource("lexicon")["name_connectors"], spaces=False)
    facility_word = rf"(?:{_CAPWORD}|\d{{1,2}}(?=[ \t]+de[ \t]+{_CAPWORD}))"
    desc_end = "(?:" + "|".join(f"(?<={d})" for d in _FACILITY_DESCRIPTORS) + r"|(?<=[A-Z]{3}))"
    facility_end = (
        rf"(?:(?:[ \t]+(?:{conn}[ \t]+)*{facility_word}){{0,6}}?"
        rf"(?:[ \t]+(?:de|del|de[ \t]+la|de[ \t]+las|de[ \t]+los|d['’]|da|do)[ \t]*{facility_word}|{desc_end}))"
    )
    # the sender line of a report or letter: "Remitido por: Dr. Luis Sanz. Servicio … Santa Rosa 571, Lima"
    signature = _alt(w for w in _words("clinician_name_labels", SUPPORTED_LANGUAGES) if " " in w or "por" in w)
    calle = RuleSpec(
        "StreetRecognizer", "CALLE",
        (
            PatternSpec(
                "street_label",
                rf"{_B}{not_in_prose}{addr_labels}{label_colon}"
                rf"(?P<v>(?=[^\s])[^\n]*?[^\s.,])(?:{label_end}|(?={line_place}))",
                0.8,
            ),
            # case-sensitive, for the prose test of ``whole_line``
            PatternSpec(
                "street_label_line",
                rf"{_B}(?i:{not_in_prose}{addr_labels}){label_colon}(?P<v>{whole_line})",
                0.8, 0,
            ),
            PatternSpec("street_typed", rf"{street_start}(?P<v>{stype_cap}[ \t]*{any_body}|{stype_low}[ \t]*{upper_body})(?![\w])",
                        0.75, 0),
            # "Gran Vía" is a whole street name as well as a type: "Gran Vía, 111"
            PatternSpec("street_gran_via", rf"{street_start}(?P<v>Gran[ \t]+V[íi]a{_STREET_NUMBER}{_FLOORS})(?![\w])", 0.75, 0),
            PatternSpec("po_box", rf"{_B}(?P<v>Apartado[ \t]+de[ \t]+[Cc]orreos[ \t]*(?:[nN][º°o]\.?[ \t]*)?\d{{1,6}}){_E}",
                        0.75, 0),
            PatternSpec("street_eu",
                        rf"{_B}(?P<v>(?:{_CAPWORD}[ \t]+){{1,4}}{eu_post}[ \t]*,?[ \t]*\d{{1,4}}[A-Za-z]?{_FLOORS}){_E}", 0.75,
                        requires=tuple(w.lower() for w in _words("street_postfix_types", ("eu",)))),
            PatternSpec(
                "street_before_cp",
                rf"(?:(?<=[.,;:] )|(?<=\n)|(?<=log[íi]a ))(?!\w*log[íi]a\b|{all_heads})(?P<v>{_CAPWORD}(?:[ \t]+{_STREET_CONNECTOR}?[ \t]*{_CAPWORD}){{0,5}}"
                rf"{_STREET_NUMBER}{_FLOORS}){_POSTAL_AHEAD}",
                0.6, 0,
            ),
            PatternSpec("street_after_facility", rf"{_B}{heads}{facility_end}[ \t]+(?P<v>{_BARE_STREET})", 0.75, 0,
                        **facility_gate._asdict()),
            PatternSpec("street_after_facility_named",
                        rf"{_B}(?:{all_heads}|Centro)(?:[ \t]+(?:{conn}[ \t]+)*{facility_word}){{1,6}}?[ \t]+(?P<v>{_named_street()})", 0.75, 0,
                        **facility_gate._asdict()),
            PatternSpec("street_in_signature",
                        rf"{_B}(?:{signature})[ \t]*:[^\n:]*?(?:\.|[^\W\d_]{{3}}\))[ \t]+(?P<v>{_UNTYPED_STREET})", 0.6, 0),
            # a national or regional road with its code, an optional "From-To" and "s/n" or km:
            # "Ctra. N-332 Alicante-Valencia, s/n", "Carretera C-35, km 4"
            PatternSpec(
                "street_road",
                rf"{_B}(?P<v>(?:Ctra|Carretera|Crta|Carr|CRT)\.?[ \t]*(?:(?:N|Nnal|A|AP|C|M|CV|CM|N-?[IV]+)[.]?[ \t]*-?[ \t]*)?\d{{1,4}}"
                rf"(?:[ \t]+{_CAPWORD}(?:-{_CAPWORD})+)?(?:,?[ \t]*(?:[sS][ ]?/[ ]?[nN]){_KM}?|{_KM})){_E}",
                0.8, 0,
            ),
            PatternSpec("street_grid", rf"{_B}(?P<v>{_alt(_words('street_grid_types', ()))}[ \t]+{_GRID_NUMBER}){_E}", 0.75, 0),
            PatternSpec("street_lowercase", rf"{_B}(?P<v>{_LOWER_STREET})", 0.6, 0, requires=("calle",)),
        ),
        context_words("address"),
    )
    # a locality stops before a contact, country or service word, in capitals too ("28008 MADRID E-MAIL")
    stop_words = ("Tel", "Tfno", "Telf", "Tlf", "Tfn", "Fax", "E-mail", "Email", "Correo", "Spain", "España",
                  "Teléfono", "Servicio", "Hospital")
    stop = rf"(?!(?:{'|'.join(re.escape(w) for w in (*stop_words, *(w.upper() for w in stop_words)))})\b)"
    places = load_resource("places")
    countries = load_resource("countries")
    names = {n for lang in SUPPORTED_LANGUAGES for n in countries.get(lang, ())}
    # a second capitalised word starts a new place when it is a province, region or country:
    # "28400 Collado Villalba" is one locality, "50800 Zuera Zaragoza" two
    not_new_place = rf"(?!(?:{_trie_alt(places['provinces'] + places['regions'] + places['islands'])}|{_trie_alt(names)})(?![\w]))"
    city_conn = r"(?:de|del|de[ \t]+la|de[ \t]+los|de[ \t]+las|d['’])"
    city = (
        rf"{stop}{_CAPWORD}(?:[ \t]+{city_conn}[ \t]*{_CAPWORD}(?:[ \t]+{not_new_place}{stop}{_CAPWORD})?"
        rf"|[ \t]+{not_new_place}{stop}{_CAPWORD}){{0,2}}"
    )
    foreign_cp = r"(?:[A-Z]{1,2}-?)?\d{4,7}(?:-\d{3,4})?(?:[A-Z]{3}(?![\w]))?"
    not_a_reading, no_unit = _not_a_reading(), _no_unit_after()
    loc_labels = _alt(_words("locality_labels", SUPPORTED_LANGUAGES))
    cp_labels = r"C\.?[ ]?P\.?|c[óo]digo[ \t]+postal|codi[ \t]+postal|posta[ \t]+kodea|P\.?K\.?"
    territory = RuleSpec(
        "TerritoryRecognizer", "TERRITORIO",
        (
            PatternSpec("cp_label", rf"{_B}(?:{cp_labels})[ \t]*[:.]?[ \t]*(?P<v>(?:E-)?\d{{5}}){_E}", 0.9),
            PatternSpec("cp_label_foreign", rf"{_B}(?:{cp_labels})[ \t]*[:.]?[ \t]*(?P<v>{foreign_cp}){_E}", 0.85, 0),
            PatternSpec(
                "cp_city",
                rf"(?<![\w.,-]){not_a_reading}(?P<v>(?:E[- ])?(?:0[1-9]|[1-4]\d|5[0-2])\d{{3}}){no_unit}"
                rf"(?=[ \t]*[-–,.]?[ \t]*\(?[{_UPPER}]|\))",
                0.6, 0,
            ),
            PatternSpec("place_name", rf"(?<![\w@.-])(?P<v>{gazetteer})(?![\w@]|-[^\W\d_]|\.\w)", 0.6, 0),
            PatternSpec("city_after_cp",
                        rf"(?<![\w.,-]){not_a_reading}(?:E-)?\(?\d{{5}}\)?{no_unit}[ \t]*[-–,.]?[ \t]*(?P<v>{city})(?![\w])",
                        0.6, 0),
            PatternSpec("locality_label", rf"{_B}{loc_labels}[ \t]*:[ \t]*(?P<v>[^\n,.;:()]*[^\s\n,.;:()])", 0.8),
        ),
        context_words("postal_code"),
    )
    # the same names written in capitals or lower case, but for those that are also common words
    # or nationalities in that case ("china", "cuba", "ARGENTINA", "usa")
    ambiguous = {"chile", "xile", "china", "xina", "txina", "india", "índia", "guinea", "cuba", "ecuador", "mali",
                 "argentina", "el salvador", "usa", "u.s.a.", "irán", "iran"}
    cased_lower = {n.lower() for n in names if n.lower() not in ambiguous}
    country_gate = _first_word_gate(cased_lower, "countries")
    pais = RuleSpec(
        "CountryRecognizer", "PAIS",
        (PatternSpec("country", rf"{_B}(?P<v>{_trie_alt(names, spaces=False)})(?![\w])", 0.6, 0),
         # case-insensitive over the lower-case forms; tried only where a name's first word stands
         # (the note's word index finds those places: see PatternSpec.gate_words)
         PatternSpec("country_cased", rf"{_B}(?P<v>{_trie_alt(cased_lower, spaces=False)})(?![\w])", 0.6,
                     **country_gate._asdict())),
        context_words("country"),
    )
    del languages
    return [calle, territory, pais]


def _facility_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build hospital, health-centre and institution name rules (see :mod:`alia_clin.deid.facilities`)."""
    from .facilities import facility_rules  # imports this module: loaded late

    del languages
    return facility_rules()


#: Lower-case particles inside a person's name ("de la Torre", "Pérez y Gómez").
_NAME_PARTICLES = r"(?:[Dd]e[ ]+la|[Dd]e[ ]+las|[Dd]e[ ]+los|[Dd]el|[Dd]e|y|i|da|do|dos|das|van|von|di)"


def _person_name_regex() -> str:
    """Return a regex for a person's name written after a label: capitalised words on one line.

    Words: ``"Pérez"``, ``"Herrero-Hahn"``, ``"O'Donnell"``, ``"d'Ors"``, ``"Mª"``, initials ``"C."``, joined
    by one or two spaces and optional particles (``"de la"``, ``"y"``; one or two spaces after them
    too, as in text spaced out for justification), starting at a word boundary. A name stops at a
    tab or three spaces, a line end, punctuation, a lower-case word or a word of
    ``name_stop_words`` (service, facility, street and contact words: ``"Médico: Ana Gil  NºCol:
    …"`` gives ``"Ana Gil"``).
    """
    stop = _trie_alt(_words("name_stop_words", ()), spaces=False)
    # "O'Donnell", "D'Angelo" and an elided "d'" ("Eugeni d'Ors") open a word too
    core = (
        rf"(?:(?:d['’](?=[{_UPPER}]))?(?:[{_UPPER}]{{1,2}}|[{_UPPER}]['’][{_UPPER}])[{_LOWER}]+(?:['’-][{_UPPER}]?[{_LOWER}]+)*"
        rf"|M[ªa]|M\.[ªa]|[{_UPPER}]\.(?=[ ][{_UPPER}])|[{_UPPER}](?=\.?[ \t]*(?:\r?\n|$)))"
    )
    service = rf"[{_UPPER}][{_LOWER}]*log[íi]a"  # "Oncología", "Nefrología"
    word = rf"(?!(?:{stop}|{service})(?![{_LOWER}{_UPPER}]))(?:{core})(?![\w/º°])"
    # a name starts at a word boundary: "DRA. ANA GIL" must not give the initial "A." of "DRA."
    return rf"(?<![\w])(?:{_NAME_PARTICLES}[ ]{{1,2}})?{word}(?:[ ]{{1,2}}(?:{_NAME_PARTICLES}[ ]{{1,2}})?{word}){{0,6}}"


# a form field's label is not preceded by an article or a preposition: "Informe clínico del
# paciente: …" is a heading, not the field "Paciente:" (plain look-behinds: the fast engine hoists them)
_FIELD_START = _B + "".join(
    rf"(?<!\b{w} )"
    for base in ("del", "de", "la", "el", "al", "los", "las", "un", "una", "su", "sus", "dels", "els", "les", "do",
                 "da", "o", "a", "ao")
    for w in dict.fromkeys((base, base.upper(), base.capitalize()))
)


def _cased_name_regex(case: str) -> str:
    """Return a regex for a name written all in capitals (``case="upper"``) or all in lower case.

    Notes exported in capitals ("APELLIDOS: GIL DE LA TORRE.") or typed in lower case have no
    capitalised words, so :func:`_person_name_regex` finds nothing there. The words are written
    in that one case (initials "J.", "Mª" included) and the name must end where a name ends on a
    form line: punctuation, a line end, two spaces, a token that is not a plain word (a digit,
    "C/", an e-mail address), or a word of ``name_stop_words``, ``name_end_words`` (function
    words: "DR. GIL QUE INDICA" gives "GIL") or ``name_prose_words`` (verbs and nouns that open a
    clinical statement: "PACIENTE: REFIERE DOLOR …" and "ENFERMERA: TOMA DE CONSTANTES …" are no
    names); the name words themselves are never such words nor a lone particle ("DE"). Without
    such an end there is no match.
    """
    upper = case == "upper"
    letters = _UPPER if upper else _LOWER
    stops = [
        *_words("name_stop_words", ()),
        *_words("name_end_words", SUPPORTED_LANGUAGES),
        *_words("name_prose_words", SUPPORTED_LANGUAGES),
    ]
    forms = {w.upper() if upper else w.lower() for w in stops}
    stop = _alt(forms, spaces=False)
    ordinal = "[ªA]" if upper else "[ªa]"
    core = (
        rf"(?:(?:[{letters}]['’])?[{letters}]{{2,}}(?:['’-][{letters}]+)*|[Mm]\.?{ordinal}"
        rf"|[{letters}]\.(?=[ ][{letters}]))"
    )
    particle_words = ("de la", "de las", "de los", "del", "de", "y", "i", "da", "do", "dos", "das", "van", "von", "di")
    particles = _alt((w.upper() if upper else w) for w in particle_words)
    lone = _alt((w.upper() if upper else w) for w in particle_words if " " not in w)
    word = rf"(?!(?:{stop}|{lone})(?![\w]))(?:{core})(?![\w/º°@]|\.\w)"
    # the next token is punctuation, a line end, far away, not a plain word ("C/ MAYOR",
    # "ANA@…", "28 28 …") or a stop word, also after a particle ("… SERVIVIO DE UROLOGÍA")
    end = rf"(?=[ \t]*(?:[^\w \t]|$)|[ \t]{{2,}}|[ \t]+\S*[^\w\s]|[ \t]+\d|[ \t]+(?:{lone}[ \t]+)?{stop}(?![\w]))"
    return rf"(?<![\w])(?:{particles}[ ]{{1,2}})?{word}(?:[ ]{{1,2}}(?:{particles}[ ]{{1,2}})?{word}){{0,5}}{end}"


#: What separates the parts of a name on a form line: a comma ("Apellidos, Nombre"), a tab or a run
#: of spaces (the next column).
_NAME_PART_SEP = r"(?:,[ \t]*|[ ]*\t[ \t]*|[ ]{2,}[ \t]*)"
#: A further part ends its column: punctuation (not ":"), the line end, a tab or a run of spaces
#: ("…  Sexo: V" is the next field, not a name).
_NAME_PART_END = r"(?=[ \t]*(?:[.,;()]|\r?\n|$)|[ ]*\t|[ ]{2,})"


def _more_name_parts(name: str, parts: int = 3, *, columns: bool = True) -> str:
    """Return a regex for up to ``parts`` further parts of a labelled name, groups ``v2`` ….

    Forms write the name as "Apellidos, Nombre" ("Paciente: Gil Sanz, Ana", "Firmado: GIL SANZ,
    ANA") or, with ``columns``, in columns ("Apellidos:<TAB>Gil<TAB>Sanz", "PACIENTE: GIL      SANZ
    ANA"); each part is its own span so the columns survive surrogates. ``name`` is the regex of
    one part.
    """
    sep = _NAME_PART_SEP if columns else r",[ \t]*"
    regex = ""
    for k in range(parts + 1, 1, -1):
        regex = rf"(?:{sep}(?P<v{k}>{name})(?![\w]){_NAME_PART_END}{regex})?"
    return regex


#: Words before a title that make it part of a place name ("Hospital Dr. Peset", "Calle del Dr. Esquerdo").
_TITLE_PLACE_WORDS = ("Hospital", "Central", "Universitario", "Clínica", "Calle", "del", "Avenida", "Plaza", "Paseo",
                      "Carrer", "Institut", "Instituto")


def _name_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build label-anchored person-name rules (patients and clinicians).

    ``"Nombre: Ana."`` / ``"Apellidos: Gil de la Torre."`` give NOMBRE_SUJETO_ASISTENCIA;
    ``"Médico: Dr. Luis Sanz  NºCol …"``, ``"Remitido por: Dra. Ana Gil"`` and a bare
    ``"Dra. Ana Gil"`` give NOMBRE_PERSONAL_SANITARIO (the title is left out of the span).
    The same labels and titles also take a name written all in capitals (``"NOMBRE: ANA."``) or,
    after a lower-case label or title, all in lower case (see :func:`_cased_name_regex`).
    """
    del languages  # labels of all four languages are always used
    name = _person_name_regex()

    def labels(table: str) -> str:
        words = _words(table, SUPPORTED_LANGUAGES)
        return _alt([*words, *(w.upper() for w in words)])

    titles = _alt(_words("clinician_titles", ()), spaces=False)
    title = rf"(?:{titles})\.?[ \t]*:?[ \t]*(?:(?:D|Dña|Dª)\.[ ]*|(?:Don|Doña)[ ]+)?"
    # "Hospital Dr. Peset", "Calle del Dr. Esquerdo": a title inside a place name
    place = "".join(f"(?<!{w} )" for w in _TITLE_PLACE_WORDS)
    # every pattern is tried only where its label's or title's first word stands (any case: the
    # note's word index finds those places, see PatternSpec.gate_words)
    gates = {table: _first_word_gate(_words(table, SUPPORTED_LANGUAGES), table)
             for table in ("patient_name_labels", "clinician_name_labels")}
    gates["title"] = _first_word_gate(("Dr", "Dra"), "clinician_titles")
    # after a clinician's label, a given name after a comma ("Firmado: Gil Sanz, Ana"); not after a
    # bare title in prose ("el Dr. Gil, Cardiólogo, …") nor in the next column ("Médico: Ana Gil  NºCol")
    def surname_first(part: str) -> str:
        return _more_name_parts(part, 1, columns=False)

    given = _given_name_gate()
    # a courtesy title in prose: "el Sr. García", "la Sra. Ruiz"; "D." and "Don/Doña" only before a
    # given name ("vitamina D. Se …"); not after a clinician's title ("Dr. D. Ramón Sanz": that rule wins)
    courtesy = (
        r"(?<!Dr\. )(?<!Dra\. )(?<!Dr )(?<!Dra )"
        rf"(?:(?:Sr|Sra|Srta)\.?[ ]+(?P<v>{name})|(?:D|Dña|Dª)\.[ ]*{given}(?P<v2>{name})|(?:Don|Doña)[ ]+{given}(?P<v3>{name}))"
    )
    patient = [
        PatternSpec("patient_courtesy_title", rf"{_B}{courtesy}(?![\w])", 0.5, 0,
                    **_first_word_gate(("Sr", "Sra", "Srta", "D", "Dña", "Dª", "Don", "Doña"), "courtesy titles")._asdict()),
        PatternSpec("patient_name_label",
                    rf"{_B}{labels('patient_name_labels')}[ \t]*:[ \t]*(?P<v>{name})(?![\w]){_more_name_parts(name)}", 0.85, 0,
                    **gates["patient_name_labels"]._asdict()),
    ]
    roles = _words("clinician_role_nouns", SUPPORTED_LANGUAGES)
    clinician = [
        # a role noun before a given name: "la enfermera Lucía Martín", "la matrona Ana Gil"
        PatternSpec("clinician_role", rf"{_B}(?i:{_alt(roles)})[ \t]+{given}(?P<v>{name})(?![\w])", 0.55, 0,
                    **_first_word_gate(roles, "clinician_role_nouns")._asdict()),
        PatternSpec("clinician_name_label",
                    rf"{_B}{labels('clinician_name_labels')}[ \t]*:[ \t]*(?:{title})?(?P<v>{name})(?![\w]){surname_first(name)}",
                    0.85, 0,
                    **gates["clinician_name_labels"]._asdict()),
        PatternSpec("clinician_title", rf"{_B}{place}(?:Dr|Dra|Dr/a|Dra/Dr|Dr/Dra)\.?[ ]+(?:(?:D|Dña|Dª)\.[ ]*)?(?P<v>{name})(?![\w])",
                    0.55, 0, **gates["title"]._asdict()),
    ]
    # names written in capitals (after a label or title in any case) or in lower case (after a
    # label or title in lower case: a lower-case word after "Paciente:" in an ordinary note is
    # not a name)
    for case, label_case in (("upper", labels), ("lower", lambda t: _alt(w.lower() for w in _words(t, SUPPORTED_LANGUAGES)))):
        cased = _cased_name_regex(case)
        lower_only = case == "lower"
        cased_titles = _alt({w.lower() for w in _words("clinician_titles", ())} if lower_only
                            else _words("clinician_titles", ()), spaces=False)
        honorific = "(?:d|dña|dª)" if lower_only else "(?:D|Dña|Dª|DÑA)"
        cased_title = rf"(?:{cased_titles})\.?[ \t]*:?[ \t]*(?:{honorific}\.[ ]*|(?:{'don|doña' if lower_only else 'Don|Doña|DON|DOÑA'})[ ]+)?"
        cased_place = "".join(f"(?<!{w.lower() if lower_only else w.upper()} )" for w in _TITLE_PLACE_WORDS)
        short_titles = "(?:dr|dra|dr/a|dr/dra|dra/dr)" if lower_only else "(?:Dr|Dra|Dr/a|Dr/Dra|Dra/Dr|DR|DRA|DR/A|DR/DRA|DRA/DR)"
        patient.append(PatternSpec(f"patient_name_label_{case}",
                                   rf"{_FIELD_START}{label_case('patient_name_labels')}[ \t]*:[ \t]*(?P<v>{cased}){_more_name_parts(cased)}",
                                   0.85, 0, **gates["patient_name_labels"]._asdict()))
        # the label starts a field: not "tratamiento médico:", where "médico" qualifies the noun
        # before it and a drug list follows (CardioCCC train: 3 such drugs taken for names)
        clinician += [
            PatternSpec(f"clinician_name_label_{case}",
                        rf"{_FIELD_START}(?<![^\W\d_] ){label_case('clinician_name_labels')}[ \t]*:[ \t]*(?:{cased_title})?(?P<v>{cased})"
                        rf"{surname_first(cased)}", 0.85, 0,
                        **gates["clinician_name_labels"]._asdict()),
            PatternSpec(f"clinician_title_{case}",
                        rf"{_B}{cased_place}{short_titles}\.?[ ]+(?:{honorific}\.[ ]*)?(?P<v>{cased})", 0.55, 0, **gates["title"]._asdict()),
        ]
    return [
        RuleSpec("PatientNameRecognizer", "NOMBRE_SUJETO_ASISTENCIA", tuple(patient), {}),
        RuleSpec("ClinicianNameRecognizer", "NOMBRE_PERSONAL_SANITARIO", tuple(clinician), {}),
    ]


def _cap_word(word: str, first: bool) -> str:
    """Title-case one word of a name head: initials all upper ("c.h.u." -> "C.H.U."), a short
    connector ("de", "la") kept unless it opens the head ("h." -> "H.")."""
    if re.fullmatch(r"(?:[^\W\d_]\.)+", word):
        return word.upper()
    return word[:1].upper() + word[1:] if len(word) > 2 or first else word


def _cap_first(words: Iterable[str]) -> list[str]:
    """Return ``words`` with their first letter upper-cased, plus title-cased forms (name heads)."""
    out: list[str] = []
    for w in words:
        out.append(w[:1].upper() + w[1:])
        out.append(" ".join(_cap_word(p, i == 0) for i, p in enumerate(w.split(" "))))
    return out


# --------------------------------------------------------------------------------------------
# Relatives of the patient (FAMILIARES_SUJETO_ASISTENCIA)
# --------------------------------------------------------------------------------------------


def _case_forms(words: Iterable[str], *, upper: bool = True) -> tuple[list[str], list[str]]:
    """Return (lower-case forms, capitalised and UPPER forms) of ``words``.

    UPPER forms are left out for words of up to three letters (``"AVI"``, ``"PAI"`` are
    abbreviations more often than kin words).
    """
    lower = sorted({w.lower() for w in words})
    caps = {w[:1].upper() + w[1:] for w in lower}
    if upper:
        caps |= {w.upper() for w in lower if len(w) > 3}
    return lower, sorted(caps)


def _all_forms(words: Iterable[str], *, upper: bool = True) -> list[str]:
    """Return every case form of ``words`` (see :func:`_case_forms`) in one list."""
    lower, caps = _case_forms(words, upper=upper)
    return [*lower, *caps]


def _after_any(words: Iterable[str]) -> str:
    """Return a regex that holds when one of ``words`` (any case style) and a space end just before."""
    lower, caps = _case_forms(words)
    return "(?:" + "|".join(rf"(?<=\b{re.escape(w)} )" for w in (*lower, *caps)) + ")"


#: Floor, door and "no number" words written right before a postal code (any of these cases).
_FLOOR_WORDS = tuple(
    form
    for w in ("dcha", "dcho", "drcha", "derecha", "izda", "izqda", "izq", "izquierda", "bajo", "bajos", "entlo",
              "entresuelo", "ático", "atico", "principal", "pral", "esquerra", "dreta", "ezkerra", "eskuina", "sn")
    for form in (w, w.capitalize(), w.upper())
)
#: Longest lower-case word :func:`_not_a_reading` looks back over.
_READING_WORD_MAX = 16


@cache
def _not_a_reading() -> str:
    """Return look-behinds that fail where a bare five-digit number is a reading, not a postal code.

    A postal code without a label follows a street number, "s/n", a floor, a comma or a place name
    (MEDDOCAN); a count or a dose follows a colon ("Leucocitos: 10300"), a lower-case word
    ("nadir 31000", "protrombina 20210A", "número 31532"), an analyte in capitals ("NT-proBNP
    12626", "AFP 30571") or a word of ``lab_words`` ("Leucocitos 17850"). A floor or door word
    (:data:`_FLOOR_WORDS`: "2º dcha 28036", "Central, SN 28300") is an address, not a reading.
    """
    lower = "a-záéíóúüñàèòïç"
    colon = r"(?<!:)(?<!:[ \t])"
    words = "".join(rf"(?<![^\w][{lower}]{{{n}}}[ \t])" for n in range(2, _READING_WORD_MAX + 1))
    caps = r"(?<![A-Z]{2}[ \t])"
    floors = "|".join(rf"(?<=\b{re.escape(w)}[ \t])" for w in _FLOOR_WORDS)
    return rf"(?:{floors}|{colon}{words}{caps}{_not_after(_words('lab_words', SUPPORTED_LANGUAGES))})"


def _no_unit_after() -> str:
    """Return a look-ahead that fails after a number glued to a letter ("20210A", "14000U") or
    followed by a unit of activity ("10000 UI", "46852 U/ml")."""
    return r"(?![^\W\d_])(?![ \t]*(?:U|UI|Ui|UFC|IU)(?![^\W\d_]))"


def _not_after(words: Iterable[str]) -> str:
    """Return look-behinds that fail when one of ``words`` (any case style) and a space precede."""
    lower, caps = _case_forms(words)
    return "".join(rf"(?<!\b{re.escape(w)} )" for w in (*lower, *caps))


@cache
def _given_names() -> frozenset[str]:
    """Return the one-word given names (over two letters) of Faker's es_ES/es_CA lists and of the
    lexicon's ``given_names`` (ca/eu/gl names those lists lack: "Iñaki", "Sabela", "Oriol")."""
    from faker.providers.person.es_CA import Provider as CatalanPersons
    from faker.providers.person.es_ES import Provider as SpanishPersons

    faker = [n for p in (SpanishPersons, CatalanPersons) for n in (*p.first_names_male, *p.first_names_female)]
    return frozenset(
        n for n in (*faker, *_words("given_names", SUPPORTED_LANGUAGES)) if " " not in n and "-" not in n and len(n) > 2
    )


@cache
def _given_name_gate() -> str:
    """Return a look-ahead that holds before a given name of :func:`_given_names` (whole word)."""
    # double negative look-ahead: kept out of the keyword-anchor analysis (see _named_street)
    return rf"(?!(?!{_trie_alt(_given_names(), spaces=False)}(?![\w])))"


def _kin_forms(languages: Sequence[str]) -> tuple[list[str], list[str], list[str]]:
    """Return every case form of the kin nouns: (plain nouns, after-article nouns, after-possessive nouns)."""
    return (
        _all_forms(_words("kin_terms", languages)),
        _all_forms(_words("kin_terms_after_article", languages), upper=False),
        _all_forms(_words("kin_terms_after_possessive", languages), upper=False),
    )


def _kin_noun_regex(languages: Sequence[str]) -> str:
    """Return a case-sensitive regex for one kin noun of ``languages`` (``"madre"``, ``"Tíos"``…).

    A capitalised or UPPER form must not follow a word and a space, nor ``"/ "``: ``"Calle
    Hermanos Falcó"``, ``"Av. del Padre Claret"`` and ``"C/ Hermanos Martínez"`` are places.
    Nouns of ``kin_terms_after_article`` need an article or a possessive just before
    (``"la familia"``, ``"los familiares"``, but not ``"antecedentes familiares"`` nor ``"médico
    de familia"``); nouns of ``kin_terms_after_possessive`` need a possessive (``"su mujer"``,
    ``"su pareja"``, not the sex word in ``"mujer de 45 años"``). Words of ``kin_not_after``
    just before (``"células madre"``, ``"sin hijos"``) and of ``kin_not_before`` just after
    (``"hijo único"``) veto the noun. The regex opens with a look-ahead over all the nouns (a
    prefix tree), so the look-behinds run only where a kin noun starts.
    """
    place_guard = r"(?<![\w] )(?<![\w]\t)(?<!/ )"
    bare, art, pos = _kin_forms(languages)
    bare_lower = [w for w in bare if w.islower()]
    bare_caps = [w for w in bare if not w.islower()]
    gated = []  # per language, so Spanish "los" never licenses Catalan "pares" ("los pares craneales")
    upper_all: set[str] = set()
    for lang in languages:
        possessives = _words("kin_possessives", (lang,))
        art_nouns = _all_forms(_words("kin_terms_after_article", (lang,)), upper=False)
        pos_nouns = _all_forms(_words("kin_terms_after_possessive", (lang,)), upper=False)
        if art_nouns:
            gated.append(rf"{_after_any([*_words('kin_articles', (lang,)), *possessives])}{_trie_alt(art_nouns, spaces=False)}")
        if pos_nouns:
            gated.append(rf"{_after_any(possessives)}{_trie_alt(pos_nouns, spaces=False)}")
        # a line in capitals: an article or possessive in capitals licenses any kin noun ("LA MADRE")
        upper_nouns = {w.upper() for w in _words("kin_terms", (lang,)) + _words("kin_terms_after_article", (lang,))
                       + _words("kin_terms_after_possessive", (lang,))}
        upper_before = {w.upper() for w in (*_words("kin_articles", (lang,)), *possessives)}
        if upper_nouns and upper_before:
            licence = "(?:" + "|".join(rf"(?<=\b{re.escape(w)} )" for w in sorted(upper_before)) + ")"
            gated.append(rf"{licence}{_trie_alt(upper_nouns, spaces=False)}")
            upper_all.update(upper_nouns)
    noun = "(?:" + "|".join([_trie_alt(bare_lower, spaces=False), rf"{place_guard}{_trie_alt(bare_caps, spaces=False)}", *gated]) + ")"
    not_before = _alt(_case_forms(_words("kin_not_before", languages))[0])
    # The checks sit in a double negative look-ahead, i.e. "(?=…)", then the word is consumed:
    # the keyword-anchor analysis (alia_clin.deid.anchors) does not expand the hundreds of
    # forms there, which would cost seconds at every engine build, and finds no anchor anyway.
    checks = (
        rf"(?={_trie_alt([*bare, *art, *pos, *upper_all], spaces=False)}(?![\w])){_not_after(_words('kin_not_after', languages))}"
        rf"{noun}(?![\w])(?![ \t]+(?i:{not_before})(?![\w]))"
    )
    return rf"(?!(?!{checks}))[^\W\d_]+"


def _family_rules(languages: Sequence[str]) -> list[RuleSpec]:
    """Build the rules for the patient's relatives (MEDDOCAN FAMILIARES_SUJETO_ASISTENCIA).

    MEDDOCAN marks the kin words themselves, with a number and modifiers (``"su [[madre]]"``,
    ``"[[tres hermanos]]"``, ``"[[Tío materno]]"``, ``"[[Primo de rama paterna]]"``), a relative
    named right after the kin word (``"[[madre Teresa Rodríguez]]"``), in apposition or after a
    label (``"madre ([[María]])"``, ``"Padre: [[Juan Gil]]"``: the name is its own span), and a
    relative's age apart from the kin words (``"Hermano mayor de [[65 años]]"``, ``"Abuelo
    materno operado a los [[40 años]]"``). A named relative's first word must be a given name
    (:func:`_given_names`). Not marked: ``"antecedentes familiares"``, ``"medicina familiar"``,
    ``"mujer"`` as a sex word, ``"hijo único"`` / ``"sin hijos"`` (MEDDOCAN gives these facts
    about the patient another label), a one-word number (``"un hermano"`` gives ``"hermano"``).

    Scores: the named relative 0.65 > the kin phrase 0.6 > the bare kin noun 0.55, so a kin
    phrase that loses an overlap (e.g. to a street or a sex word) still leaves its noun. Street,
    facility and name rules score higher and win over a kin word inside them. A relative's age
    scores 1.0: the patient-age rules (up to 1.0 with their context boost) cover the same
    offsets, and :func:`build_specs` lists these rules before them, so on a tie the relative wins.
    """
    kin = _kin_noun_regex(languages)
    one = {"un", "una", "uno", "unha", "bat"}
    nums_lower, nums_caps = _case_forms([w for w in _words("number_words", languages) if w not in one])
    number = rf"(?!(?!(?:{_trie_alt([*nums_lower, *nums_caps], spaces=False)}|(?=\d)(?<![\d.,])\d{{1,2}})(?![\w])))\w+"
    mods = _alt(_words("kin_modifiers", languages))
    phrase = rf"(?:{number}[ \t]+)?{kin}(?:[ \t]+(?:o[ \t]+)?{mods}(?![\w])){{0,3}}"
    name = rf"{_given_name_gate()}{_person_name_regex()}"
    # a courtesy title before a relative's name is not part of the span: "su esposa, Dña. Carmen Ruiz"
    courtesy = r"(?:(?:D|Dña|Dª|Sr|Sra|Srta)\.[ ]*|(?:Don|Doña)[ ]+)?"
    states = _alt(_words("kin_states", languages))
    units = _alt(_words("age_units", languages), spaces=False)
    all_nums = _alt(_words("number_words", languages), spaces=False)
    age_num = rf"(?:\d{{1,3}}|(?i:{all_nums}))(?![\w])"
    age_value = rf"{age_num}[ \t]+{units}(?![\w])"
    # "de 67 años y 62 años", "de tres y diez años": the first number is a span of its own
    first_age = rf"{age_num}(?:[ \t]+{units}(?![\w])|(?=(?:[ \t]*,[ \t]*{age_num})*[ \t]+(?:y|i|e|eta)[ \t]+{age_value}))"
    age_of = rf"(?:[ \t]+{name})?(?:[ \t]+{states}(?![\w]))?,?[ \t]+(?:de|d['’])[ \t]+"
    sides = _alt(_case_forms(_words("kin_sides", languages))[0])
    side_forms = _all_forms(_words("kin_side_heads", languages))
    side_heads = _trie_alt(side_forms, spaces=False)
    # "Madre fallecida de neoplasia de tiroides a los 49 años": a few lower-case words, no clause
    # break and no other relative ("Hijo de padres sanos operado a los 3 años" is the patient's age)
    all_kin = [w for forms in _kin_forms(languages) for w in forms]
    gap_stop = _trie_alt(["que", "qui", "cuando", "quan", "cando", "y", "i", "e", *all_kin], spaces=False)
    gap = rf"(?:[ \t]+(?!{gap_stop}(?![\w]))[{_LOWER}]+){{0,6}}?"
    at = r"(?:a[ \t]+los|als|aos)"
    contact_words = _words("contact_person_labels", SUPPORTED_LANGUAGES)
    contact_labels = _alt([*contact_words, *(w.upper() for w in contact_words)])
    not_parents = r"(?<!\bde )(?<!\bdel )(?<!\bDe )"
    # Every match starts at a kin noun, a side head or a number before a kin noun: one scan of the
    # note finds those places (a number consumes one character only, so the noun is found too).
    starts = (
        rf"{_B}(?:{_trie_alt([*all_kin, *side_forms], spaces=False)}(?![\w])"
        rf"|(?:{_trie_alt([*nums_lower, *nums_caps], spaces=False)}|\d{{1,2}})(?![\w])(?=[ \t]+{_trie_alt(all_kin, spaces=False)}(?![\w])))"
    )
    # the same places, found faster through the note's word index (see PatternSpec)
    gate_words = tuple(sorted({w.lower() for w in [*all_kin, *side_forms]}))
    gate_before = rf"(?:{_trie_alt(nums_lower, spaces=False)}|\d{{1,2}})"
    family = RuleSpec(
        "FamilyRecognizer", "FAMILIARES_SUJETO_ASISTENCIA",
        (
            PatternSpec("kin_named", rf"{_B}(?P<v>{phrase}[ \t]{{1,2}}{name})(?![\w])", 0.65, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("kin_phrase", rf"{_B}(?P<v>{phrase})(?![\w])", 0.6, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("kin_noun", rf"{_B}(?P<v>{kin})", 0.55, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("kin_apposition",
                        rf"{_B}{phrase}(?:[ \t]*\([ \t]*|,[ \t]*){courtesy}(?P<v>{name})(?=[ \t]*(?:[,;)]|\.(?:\s|$)|\r?\n|$))",
                        0.6, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("kin_label", rf"{_B}{phrase}[ \t]*:[ \t]*(?P<v>{name})(?![\w])", 0.6, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("kin_side", rf"{_B}{side_heads}[ \t]+(?:de[ \t]+la[ \t]+)?(?P<v>(?i:{sides}))(?![\w-])", 0.55, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("relative_age_of", rf"{_B}{phrase}{age_of}(?P<v>{first_age})", 1.0, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("relative_age_of_second",
                        rf"{_B}{phrase}{age_of}{age_num}(?:[ \t]+{units})?(?:[ \t]*,[ \t]*{age_num}(?:[ \t]+{units})?)*"
                        rf"[ \t]+(?:y|i|e|eta)[ \t]+(?P<v>{age_value})", 1.0, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("relative_age_paren", rf"{_B}{phrase}[ \t]*\([ \t]*(?P<v>{age_value})[ \t]*\)", 1.0, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            PatternSpec("relative_age_at", rf"{_B}{not_parents}{phrase}{gap}[ \t]+{at}[ \t]+(?P<v>{age_value})", 1.0, 0, starts=starts, gate_words=gate_words, gate_before=gate_before),
            # a contact person's form field: "Persona de contacto: Ana Gil (hija)", "Cuidadora: Sra. Noelia Peña"
            PatternSpec("contact_person_label", rf"{_FIELD_START}{contact_labels}[ \t]*:[ \t]*{courtesy}(?P<v>{name})(?![\w])", 0.6, 0,
                        **_first_word_gate(_words("contact_person_labels", SUPPORTED_LANGUAGES), "contact_person_labels")._asdict()),
        ),
        {},
    )
    return [family]


def build_specs(languages: Sequence[str] = SUPPORTED_LANGUAGES) -> list[RuleSpec]:
    """Return every rule spec. Patterns cover all four languages; ``languages`` is validated.

    Raises ``E005`` for a language outside :data:`SUPPORTED_LANGUAGES`.
    """
    for lang in languages:
        check_language(lang)
    langs = tuple(languages)
    return [
        *_id_rules(langs),
        *_contact_rules(langs),
        *_date_rules(langs),
        *_family_rules(langs),  # before the patient-age rules: a relative's age wins a tie
        *_person_rules(langs),
        *_address_rules(langs),
        *_facility_rules(langs),
        *_name_rules(langs),
    ]


def check_language(language: str) -> None:
    """Raise ``E005`` unless ``language`` is one of :data:`SUPPORTED_LANGUAGES`."""
    if language not in SUPPORTED_LANGUAGES:
        raise AliaClinValueError(ErrorCode.E005, language=language, choices=", ".join(SUPPORTED_LANGUAGES))

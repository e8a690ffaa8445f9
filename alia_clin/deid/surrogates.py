"""Realistic, deterministic surrogate values for PHI spans (MEDDOCAN labels).

Determinism and secrecy
    Every surrogate is drawn from a random generator seeded with
    ``HMAC-SHA256(secret, "alia_clin.surrogates.v1" | patient_key | label | normalized value)``
    (parts are length-prefixed). The same original value therefore gets the same surrogate in
    every mention of a document AND in every document of the same patient (same secret and
    ``patient_key``); without the secret the mapping can neither be reproduced nor reversed.
    Person-name labels (patient, staff, relatives) share one seed namespace and are replaced word
    by word, so "García" gets the same surrogate surname in "Ana García López", "Sra. García" and
    in a relative's name. Normalization folds case, accents, whitespace and punctuation
    ("MARÍA  GARCÍA" = "María García"; "12345678-Z" = "12345678Z").

    Surrogates never equal the original value and avoid the other original PHI values passed in
    ``avoid`` (a redraw happens on a clash; this depends on the document, so in the rare case of
    a clash two documents of the same patient may differ for that value).

    Values drawn from Faker's data lists (names, cities, countries, jobs, domains) are stable for
    a given Faker version; dates, ages, IDs and phone numbers use only the standard library.

Faker locales (Faker 40 ships none of ca_ES, eu_ES or gl_ES)
    es → es_ES; ca → es_ES, with given names from Faker's ``es_CA`` person provider (popular
    Catalan names; its other providers fall back to en_US, so they are not used); eu → es_ES;
    gl → es_ES. Month names for dates are written by this module in es, ca, eu and gl.

Per-label policy
    ========================================  =====================================================
    NOMBRE_SUJETO_ASISTENCIA, NOMBRE_PERSONAL_  word by word: given names → given names of the same
    SANITARIO, FAMILIARES_SUJETO_ASISTENCIA     sex (Faker lists), other words → surnames, initials
                                                → letters; titles (Dr., Sra.), particles (de, i) and
                                                kinship words kept; case style kept
    FAMILIARES_SUJETO_ASISTENCIA                kin words, their modifiers and numbers kept (the
                                                kin lexicons of the rules: "madre", "tres hermanos",
                                                "tío materno" stay), name words replaced as above
                                                ("madre Teresa Gil" → "madre Lucía Mora"); a
                                                relative's age with digits is shifted like an age
    EDAD_SUJETO_ASISTENCIA                      number shifted by 1–5 (1–2 under 18), unit kept;
                                                ages in years > 89 become 90 (a "90 or older"
                                                category, as in HIPAA Safe Harbor)
    SEXO_SUJETO_ASISTENCIA                      kept unchanged: not identifying alone and needed
                                                clinically
    FECHAS                                      one per-patient shift (±1–365 days, never 0) that
                                                keeps intervals and the original format
    CALLE, HOSPITAL, CENTRO_SALUD, INSTITUCION  type words (Calle, Avda., Hospital, CAP…) kept,
                                                name words replaced, digits redrawn
    TERRITORIO / PAIS / PROFESION               postcode and city / country / job (Faker es_ES)
    CORREO_ELECTRONICO / URL_WEB /              fake address (free-mail domains kept) / fake URL /
    DIREC_PROT_INTERNET                         fake IP of the same version
    NUMERO_TELEFONO, NUMERO_FAX                 format, country code and first digit kept
    ID_* (and unknown labels with ID/NUMERO)    shape kept (digit→digit, letter→letter); DNI/NIE get
                                                a valid check letter, a valid NASS a valid control
    anything else (OTROS_SUJETO_ASISTENCIA…)    no surrogate: :meth:`SurrogateGenerator.surrogate`
                                                returns None and the caller falls back to a tag
    ========================================  =====================================================
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import random
import re
import string
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache, lru_cache

from faker import Faker
from faker.providers.person.es_CA import Provider as _CatalanPersons
from faker.providers.person.es_ES import Provider as _SpanishPersons

from ..errors import AliaClinValueError, ErrorCode

SUPPORTED_LANGUAGES: tuple[str, ...] = ("es", "ca", "eu", "gl")
FAKER_LOCALES: dict[str, str] = {"es": "es_ES", "ca": "es_ES", "eu": "es_ES", "gl": "es_ES"}
"""Faker locale used per language (Faker has no ca_ES, eu_ES or gl_ES; see module docstring)."""

MAX_EXACT_AGE = 89
TOP_CODED_AGE = 90
DATE_SHIFT_MAX_DAYS = 365
_SEED_CONTEXT = "alia_clin.surrogates.v1"
_MAX_ATTEMPTS = 12

NAME_LABELS = frozenset(
    {"NOMBRE_SUJETO_ASISTENCIA", "NOMBRE_PERSONAL_SANITARIO", "FAMILIARES_SUJETO_ASISTENCIA"}
)
ID_LABELS = frozenset(
    {
        "ID_SUJETO_ASISTENCIA",
        "ID_CONTACTO_ASISTENCIAL",
        "ID_ASEGURAMIENTO",
        "ID_TITULACION_PERSONAL_SANITARIO",
        "ID_EMPLEO_PERSONAL_SANITARIO",
    }
)
FACILITY_LABELS = frozenset({"HOSPITAL", "INSTITUCION", "CENTRO_SALUD"})
PHONE_LABELS = frozenset({"NUMERO_TELEFONO", "NUMERO_FAX"})

# --------------------------------------------------------------------------------------------
# Normalization and keyed seeds
# --------------------------------------------------------------------------------------------


def fold(value: str) -> str:
    """Return ``value`` without accents, case, whitespace or punctuation (letters and digits only)."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch)).casefold()


def _fold_words(value: str) -> list[str]:
    """Return the folded words (letter runs) of ``value``."""
    return [fold(w) for w in _WORD_RE.findall(value)]


def secret_bytes(secret: str | bytes) -> bytes:
    """Return the secret as bytes (UTF-8 for str); raise ``E053`` when empty or of a wrong type."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not isinstance(secret, bytes) or not secret:
        raise AliaClinValueError(ErrorCode.E053, reason="the secret must be a non-empty str or bytes")
    return secret


def keyed_digest(secret: bytes, *parts: str) -> bytes:
    """Return HMAC-SHA256 of the length-prefixed, UTF-8 encoded ``parts`` under ``secret``."""
    message = bytearray()
    for part in (_SEED_CONTEXT, *parts):
        encoded = part.encode("utf-8")
        message += len(encoded).to_bytes(4, "big") + encoded
    return hmac.new(secret, bytes(message), hashlib.sha256).digest()


def date_shift_days(secret: str | bytes, patient_key: str = "") -> int:
    """Return the per-patient date shift in days: non-zero, within ±DATE_SHIFT_MAX_DAYS."""
    digest = keyed_digest(secret_bytes(secret), "DATE_SHIFT", patient_key)
    magnitude = int.from_bytes(digest[:8], "big") % DATE_SHIFT_MAX_DAYS + 1
    return -magnitude if digest[8] & 1 else magnitude


# --------------------------------------------------------------------------------------------
# Faker access (one instance per locale and thread; reseeded before each draw)
# --------------------------------------------------------------------------------------------

_local = threading.local()


def _faker(locale: str, seed: int) -> Faker:
    """Return this thread's Faker for ``locale``, reseeded with ``seed``."""
    cache: dict[str, Faker] = _local.__dict__.setdefault("fakers", {})
    fake = cache.get(locale)
    if fake is None:
        fake = cache[locale] = Faker(locale)
    fake.seed_instance(seed)
    return fake


@cache
def _single_words(names: tuple[str, ...]) -> tuple[str, ...]:
    """Return the one-word entries of a Faker name list."""
    return tuple(n for n in names if " " not in n and "-" not in n)


@lru_cache(maxsize=1)
def _given_name_sets() -> tuple[frozenset[str], frozenset[str]]:
    """Return folded (female, male) given names known to Faker's es_ES and es_CA providers."""
    female = _SpanishPersons.first_names_female + _CatalanPersons.first_names_female
    male = _SpanishPersons.first_names_male + _CatalanPersons.first_names_male
    female_words = frozenset(w for n in female for w in _fold_words(n) if len(w) > 2)
    male_words = frozenset(w for n in male for w in _fold_words(n) if len(w) > 2)
    return female_words, male_words - female_words


def _given_names(language: str, sex: str) -> tuple[str, ...]:
    """Return one-word given names for ``sex`` ("F"/"M"), Catalan ones for ``language == "ca"``."""
    provider = _CatalanPersons if language == "ca" else _SpanishPersons
    names = provider.first_names_female if sex == "F" else provider.first_names_male
    return _single_words(tuple(names))


# --------------------------------------------------------------------------------------------
# Small text helpers
# --------------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_DIGIT_RUN_RE = re.compile(r"\d+")


def match_case(template: str, word: str) -> str:
    """Return ``word`` in the case style of ``template`` (UPPER, lower or Capitalized)."""
    if len(template) > 1 and template.isupper():
        return word.upper()
    if template.islower():
        return word.lower()
    if template[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def _random_digits(rnd: random.Random, template: str) -> str:
    """Return random digits as long as ``template``; non-zero first digit if the template's is."""
    digits = [rnd.choice(string.digits) for _ in template]
    if template and template[0] != "0" and digits and digits[0] == "0":
        digits[0] = rnd.choice("123456789")
    return "".join(digits)


def shape_surrogate(value: str, rnd: random.Random) -> str:
    """Return ``value`` with each digit run and letter redrawn (same shape, case and separators)."""
    out: list[str] = []
    for run in re.finditer(r"\d+|[^\W\d_]|.", value, flags=re.DOTALL):
        token = run.group()
        if token.isdigit():
            out.append(_random_digits(rnd, token))
        elif token.isalpha():
            letter = rnd.choice(string.ascii_uppercase)
            out.append(letter.lower() if token.islower() else letter)
        else:
            out.append(token)
    return "".join(out)


def _fill_alnum(value: str, replacement: str) -> str:
    """Return ``value`` with its letters/digits replaced, in order, by those of ``replacement``."""
    chars = iter(replacement)
    out = []
    for ch in value:
        if ch.isalnum():
            new = next(chars)
            out.append(new.lower() if ch.islower() else new)
        else:
            out.append(ch)
    return "".join(out)


def _run_case(words: list[str], generated: str) -> str:
    """Return ``generated`` in UPPER or lower case when all ``words`` are, else unchanged."""
    if all(len(w) > 1 and w.isupper() for w in words):
        return generated.upper()
    if all(w.islower() for w in words):
        return generated.lower()
    return generated


_RUN_TOKEN_RE = re.compile(r"\s+|[^\W\d_]+(?:['’][^\W\d_]+)*|\d+|.", re.DOTALL)


def _replace_name_runs(
    value: str, keep: Callable[[str], bool], make: Callable[[int, list[str]], str], rnd: random.Random
) -> str:
    """Return ``value`` with each run of name words replaced by ``make(position, words)``.

    A word for which ``keep(folded_word)`` is true (type words, particles) stays, and so do
    punctuation and whitespace; digit runs are redrawn with the same length. A run is a maximal
    sequence of other words separated only by whitespace; the replacement gets the case style
    of the run's first word.
    """
    out: list[str] = []
    run: list[str] = []
    space = ""
    for token in _RUN_TOKEN_RE.findall(value):
        if token.isspace():
            space += token
            continue
        if _WORD_RE.fullmatch(token) and not keep(fold(token)):
            if not run:
                out.append(space)
            space = ""
            run.append(token)
            continue
        if run:
            out.append(_run_case(run, make(len(out), list(run))))
            run.clear()
        out.append(space)
        space = ""
        out.append(_random_digits(rnd, token) if token.isdigit() else token)
    if run:
        out.append(_run_case(run, make(len(out), list(run))))
    out.append(space)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

_MONTHS: dict[str, tuple[str, ...]] = {
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
    "ca": (
        "gener", "febrer", "març", "abril", "maig", "juny",
        "juliol", "agost", "setembre", "octubre", "novembre", "desembre",
    ),
    "gl": (
        "xaneiro", "febreiro", "marzo", "abril", "maio", "xuño",
        "xullo", "agosto", "setembro", "outubro", "novembro", "decembro",
    ),
}  # fmt: skip
# Basque month names: (absolutive, genitive "-(a)ren", inessive "-(e)an").
_EU_MONTHS: tuple[tuple[str, str, str], ...] = (
    ("urtarrila", "urtarrilaren", "urtarrilean"),
    ("otsaila", "otsailaren", "otsailean"),
    ("martxoa", "martxoaren", "martxoan"),
    ("apirila", "apirilaren", "apirilean"),
    ("maiatza", "maiatzaren", "maiatzean"),
    ("ekaina", "ekainaren", "ekainean"),
    ("uztaila", "uztailaren", "uztailean"),
    ("abuztua", "abuztuaren", "abuztuan"),
    ("iraila", "irailaren", "irailean"),
    ("urria", "urriaren", "urrian"),
    ("azaroa", "azaroaren", "azaroan"),
    ("abendua", "abenduaren", "abenduan"),
)
_MONTH_VARIANTS = {"setiembre": ("es", 8)}

_TIME_REST = r"(?P<rest>(?:,?\s*(?:a\s+las|a\s+les|ás|as|at|h)?\s*\d{1,2}[:.h]\d{2}(?::\d{2})?\s*h?)?)"
_SEP = r"(?P<s>[/.\-])"
_NUMERIC_PATTERNS = (
    re.compile(rf"(?P<d>\d{{1,2}}){_SEP}(?P<m>\d{{1,2}})(?P=s)(?P<y>\d{{4}}|\d{{2}}){_TIME_REST}"),
    re.compile(rf"(?P<y>\d{{4}}){_SEP}(?P<m>\d{{1,2}})(?P=s)(?P<d>\d{{1,2}}){_TIME_REST}"),
    re.compile(rf"(?P<m>\d{{1,2}}){_SEP}(?P<y>\d{{4}}){_TIME_REST}"),
    re.compile(r"(?P<y>(?:19|20)\d{2})(?P<rest>)"),
)
_WRITTEN_RE = re.compile(
    r"(?:(?P<d>\d{1,2})(?P<dsep>\s+de\s+|\s+d['’]|\s+|\s*-\s*))?"
    r"(?P<month>[^\W\d_]+)\.?"
    r"(?:(?P<ysep>\s+de\s+l['’]|\s+del\s+|\s+de\s+|,\s*|\s+|\s*-\s*)(?P<y>\d{4}))?" + _TIME_REST,
    re.IGNORECASE,
)
_EU_RE = re.compile(
    r"(?P<y>\d{4})(?P<ysuf>-?e?ko)?(?P<sp1>\s+)(?P<month>[^\W\d_]+)"
    r"(?:(?P<sp2>\s+)(?P<d>\d{1,2})(?P<dsuf>-?(?:ean|an|n|a))?)?" + _TIME_REST,
    re.IGNORECASE,
)
# Pronunciation class of the last word of 1..19 in Basque: C = ends in a consonant, A = in "a".
_EU_UNIT_CLASS = {1: "C", 5: "C", 10: "C", 11: "A", 15: "C"}


@dataclass(frozen=True)
class _MonthWord:
    """A recognised month word: language table, month index (0-11) and Basque form (0-2)."""

    language: str
    index: int
    form: int = 0


def _lookup_month(word: str, preferred: str) -> _MonthWord | None:
    """Return the month named by ``word`` (es/ca/gl/eu, any case), preferring ``preferred``'s table."""
    key = word.casefold()
    if key in _MONTH_VARIANTS:
        lang, index = _MONTH_VARIANTS[key]
        return _MonthWord(lang, index)
    hits = [_MonthWord(lang, names.index(key)) for lang, names in _MONTHS.items() if key in names]
    for index, forms in enumerate(_EU_MONTHS):
        if key in forms:
            hits.append(_MonthWord("eu", index, forms.index(key)))
    if not hits:
        return None
    return next((h for h in hits if h.language == preferred), hits[0])


def _month_name(month: _MonthWord, new_index: int, template: str) -> str:
    """Return the name of month ``new_index`` in ``month``'s language/form, cased like ``template``."""
    if month.language == "eu":
        return match_case(template, _EU_MONTHS[new_index][month.form])
    return match_case(template, _MONTHS[month.language][new_index])


def _eu_class(number: int) -> str:
    """Return the pronunciation class (C/A/V) of the last word of a Basque number 1..99 or a year."""
    n = number % 100
    if n == 0:
        return "V" if number % 1000 == 0 else "C"  # "mila" vs "...ehun"
    if n % 20 == 0:
        return "V"  # hogei, berrogei, hirurogei, laurogei
    return _EU_UNIT_CLASS.get(n % 20, "V")


def _eu_year_suffix(year: int, template: str) -> str:
    """Return the Basque "-ko/-eko" suffix for ``year``, keeping a hyphen found in ``template``."""
    suffix = "eko" if _eu_class(year) == "C" else "ko"
    return ("-" if template.startswith("-") else "") + suffix


def _eu_day_suffix(day: int, template: str) -> str:
    """Return the Basque day suffix for ``day`` in the grammatical case used by ``template``."""
    if not template:
        return ""
    hyphen = "-" if template.startswith("-") else ""
    if template.lstrip("-") == "a":
        return hyphen + "a"
    return hyphen + {"C": "ean", "A": "n", "V": "an"}[_eu_class(day)]


def _expand_year(text: str) -> int:
    """Return a 4-digit year from a 2- or 4-digit field (two digits: < 50 → 20xx, else 19xx)."""
    year = int(text)
    if len(text) == 2:
        return 2000 + year if year < 50 else 1900 + year
    return year


def _pad(value: int, padded: bool) -> str:
    """Return ``value`` as two digits when ``padded``, else without a leading zero."""
    return f"{value:02d}" if padded else str(value)


def _numeric_padding(fields: Iterable[str]) -> bool:
    """Return True when day/month fields look zero-padded: one starts with 0 or all are 2 wide."""
    values = list(fields)
    return any(f.startswith("0") for f in values) or all(len(f) == 2 for f in values)


def _shift(day: int, month: int, year: int, days: int) -> date | None:
    """Return the date shifted by ``days`` or None when (day, month, year) is not a valid date."""
    try:
        return date(year, month, day) + timedelta(days=days)
    except (ValueError, OverflowError):
        return None


def _shift_numeric(text: str, days: int, _language: str = "es") -> str | None:
    """Shift a numeric date (d/m/y, y-m-d, m/y or a bare year) keeping its format; None if not one."""
    for pattern in _NUMERIC_PATTERNS:
        m = pattern.fullmatch(text)
        if not m:
            continue
        groups = m.groupdict()
        year = _expand_year(groups["y"])
        has_day, has_month = groups.get("d") is not None, groups.get("m") is not None
        anchor_day = int(groups["d"]) if has_day else (15 if has_month else 2)
        new = _shift(anchor_day, int(groups["m"]) if has_month else 7, year, days)
        if new is None:
            return None
        new_year = str(new.year)[-2:] if len(groups["y"]) == 2 else str(new.year)
        fields = {"y": (m.start("y"), m.end("y"), new_year)}
        padded = _numeric_padding(groups[k] for k in ("d", "m") if groups.get(k) is not None)
        if has_month:
            fields["m"] = (m.start("m"), m.end("m"), _pad(new.month, padded))
        if has_day:
            fields["d"] = (m.start("d"), m.end("d"), _pad(new.day, padded))
        return _splice(text, fields.values())
    return None


def _splice(text: str, fields: Iterable[tuple[int, int, str]]) -> str:
    """Return ``text`` with each ``(start, end, new)`` field substituted (fields do not overlap)."""
    out: list[str] = []
    pos = 0
    for start, end, new in sorted(fields):
        out.extend((text[pos:start], new))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def _shift_written(text: str, days: int, language: str) -> str | None:
    """Shift a written es/ca/gl date ("3 de marzo de 2015", "març del 2015"…); None if not one."""
    m = _WRITTEN_RE.fullmatch(text)
    if not m or (m.group("d") is None and m.group("y") is None):
        return None
    month = _lookup_month(m.group("month"), _written_language(m, language))
    if month is None or month.language == "eu":
        return None
    has_day, has_year = m.group("d") is not None, m.group("y") is not None
    year = int(m.group("y")) if has_year else (2000 if (m.group("d"), month.index) == ("29", 1) else 2001)
    new = _shift(int(m.group("d")) if has_day else 15, month.index + 1, year, days)
    if new is None:
        return None
    fields = [(m.start("month"), m.end("month"), _month_name(month, new.month - 1, m.group("month")))]
    if has_year:
        fields.append((m.start("y"), m.end("y"), str(new.year)))
    if has_day:
        fields.append((m.start("d"), m.end("d"), _pad(new.day, m.group("d").startswith("0"))))
        fields.append((m.start("dsep"), m.end("dsep"), _day_separator(m.group("dsep"), month, new.month - 1)))
    return _splice(text, fields)


def _written_language(match: re.Match[str], language: str) -> str:
    """Return "ca" when the separators are Catalan ("d'abril", "del 2015"), else ``language``."""
    dsep = (match.group("dsep") or "").strip().casefold()
    ysep = (match.group("ysep") or "").strip().casefold()
    return "ca" if dsep.startswith(("d'", "d’")) or ysep.startswith(("del", "de l")) else language


def _day_separator(separator: str, month: _MonthWord, new_index: int) -> str:
    """Return the separator between day and month, redoing Catalan elision ("de març"/"d'abril")."""
    stripped = separator.strip().casefold()
    if month.language != "ca" or not (stripped == "de" or stripped.startswith(("d'", "d’"))):
        return separator
    elides = _MONTHS["ca"][new_index][0] in "aeiouàèéíòóú"
    apostrophe = "’" if "’" in separator else "'"
    lead = separator[: len(separator) - len(separator.lstrip())]
    if elides:
        return f"{lead}d{apostrophe}"
    return f"{lead}de "


def _shift_basque(text: str, days: int, _language: str = "eu") -> str | None:
    """Shift a Basque date ("2015eko martxoaren 3an", "2015eko martxoan"); None if not one."""
    m = _EU_RE.fullmatch(text)
    if not m:
        return None
    month = _lookup_month(m.group("month"), "eu")
    if month is None or month.language != "eu":
        return None
    has_day = m.group("d") is not None
    new = _shift(int(m.group("d")) if has_day else 15, month.index + 1, int(m.group("y")), days)
    if new is None:
        return None
    fields = [
        (m.start("y"), m.end("y"), str(new.year)),
        (m.start("month"), m.end("month"), _month_name(month, new.month - 1, m.group("month"))),
    ]
    if m.group("ysuf") is not None:
        fields.append((m.start("ysuf"), m.end("ysuf"), _eu_year_suffix(new.year, m.group("ysuf"))))
    if has_day:
        fields.append((m.start("d"), m.end("d"), _pad(new.day, m.group("d").startswith("0"))))
        if m.group("dsuf") is not None:
            fields.append((m.start("dsuf"), m.end("dsuf"), _eu_day_suffix(new.day, m.group("dsuf"))))
    return _splice(text, fields)


def shift_date_text(text: str, days: int, language: str = "es") -> str | None:
    """Return the date written in ``text`` shifted by ``days`` in the same format, or None.

    Reads numeric dates (d/m/yyyy, dd/mm/yy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd, mm/yyyy, an
    optional time after them, which is kept), a bare year 1900–2099 (shifted as its 2 July),
    written dates with month names in es/ca/gl/eu. Surrounding whitespace is kept. Returns None
    when the text is not a date this function understands or not a valid calendar date.
    """
    core = text.strip()
    if not core:
        return None
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
    for parse in (_shift_numeric, _shift_written, _shift_basque):
        shifted = parse(core, days, language)
        if shifted is not None:
            return lead + shifted + trail
    return None


def random_date_text(rnd: random.Random, language: str, written: bool) -> str:
    """Return a random date in 2000–2024, written with a month name if ``written`` else dd/mm/yyyy."""
    day = date(2000, 1, 1) + timedelta(days=rnd.randrange((date(2024, 12, 31) - date(2000, 1, 1)).days))
    if not written:
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if language == "eu":
        forms = _EU_MONTHS[day.month - 1]
        year_suffix, day_suffix = _eu_year_suffix(day.year, ""), _eu_day_suffix(day.day, "an")
        return f"{day.year}{year_suffix} {forms[1]} {day.day}{day_suffix}"
    table = _MONTHS.get(language, _MONTHS["es"])
    month = table[day.month - 1]
    if language == "ca":
        sep = " d'" if month[0] in "aeiou" else " de "
        return f"{day.day}{sep}{month} de {day.year}"
    return f"{day.day} de {month} de {day.year}"


# --------------------------------------------------------------------------------------------
# Word lists
# --------------------------------------------------------------------------------------------

def _wordset(words: str) -> frozenset[str]:
    """Return the set of the space-separated words of ``words``."""
    return frozenset(words.split())


_TITLES = _wordset(
    "dr dra dres doctor doctora dr.a sr sra srta senor senora senyor senyora don dona dna dnya "
    "d na en lic lcdo lcda prof profa enf jaun andrea anderea"
)
_PARTICLES = _wordset("de del la las los el le lo da do das dos di du van von der den y e i eta")
_LINKS = _wordset("de del d dels da do das dos y e i eta")  # particles that are not articles
_KINSHIP = _wordset(
    "madre padre hijo hija hermano hermana esposo esposa marido mujer abuelo abuela nieto nieta "
    "tio tia primo prima sobrino sobrina pareja conyuge mare pare fill filla germa germana avi avia "
    "marit dona nai pai fillo irman irma avo avoa ama aita seme alaba anaia arreba ahizpa neba "
    "senarra emaztea amona aitona su seu sua bere"
)
_STREET_WORDS = _wordset(
    "c cl calle carrer avda avd av avenida avinguda avenida po pg paseo passeig pl pza plaza placa "
    "praza rua ronda travesia travessera travesera carretera ctra camino cami estrada urb "
    "urbanizacion urbanitzacio glorieta bulevar via pasaje passatge callejon costa rambla rbla "
    "barrio barri lugar lg kalea kalean etorbidea etorb pasealekua enparantza bidea auzoa "
    "piso planta puerta pta esc escalera bajo bajos izq izda izquierda dcha derecha atico "
    "entresuelo principal pral bis km sn local bloque portal pis porta baixos esquerra dreta atic "
    "solairua ezk eskuina ezkerra andar porta esquerda dereita baixo num no n"
)
_FACILITY_WORDS = _wordset(
    "hospital hospitalario hospitalaria hospitalari hospitalaria universitario universitaria "
    "universitari universitaria general clinico clinica comarcal complejo complexo consorci "
    "sanitari sanitario sanitaria centro centre salud saude cap cs csalud ambulatorio ambulatori "
    "consultorio area basica atencion atencio primaria ospitalea ospitalia osasun zentroa "
    "anbulatorioa unibertsitate unibertsitatea ebap abs eap servicio servei zerbitzua unidad unitat "
    "fundacion fundacio instituto institut mutua policlinica sanatorio residencia geriatrico "
    "materno infantil provincial regional insular universidad universitat ayuntamiento ajuntament "
    "concello udala consejeria conselleria departament departamento ministerio colegio collegi "
    "asociacion associacio sociosanitario sociosanitari osakidetza sergas"
)
_SUBYEAR_UNIT_RE = re.compile(
    r"\b(mes|meses|mesos|dia|dias|dies|semana|semanas|setmana|setmanes|hilabete\w*|egun\w*|aste\w*|"
    r"hora|horas|hores|ordu\w*)\b"
)
_FREE_MAIL = _wordset(
    "gmail.com hotmail.com hotmail.es outlook.com outlook.es yahoo.com yahoo.es live.com msn.com "
    "icloud.com telefonica.net movistar.es protonmail.com"
)
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_check_letter(number: int) -> str:
    """Return the DNI/NIE check letter of an 8-digit number (NIE: X/Y/Z mapped to 0/1/2 first)."""
    return _DNI_LETTERS[number % 23]


def nass_control(province: int, body: int) -> int:
    """Return the two-digit NASS (Spanish Social Security number) control for province and body."""
    value = body + province * 10_000_000 if body < 10_000_000 else int(f"{province:02d}{body:08d}")
    return value % 97


def _valid_nass(compact: str) -> bool:
    """Return True when ``compact`` is 12 digits with a valid NASS control."""
    if not re.fullmatch(r"\d{12}", compact):
        return False
    return nass_control(int(compact[:2]), int(compact[2:10])) == int(compact[10:])


@lru_cache(maxsize=1)
def _family_words() -> frozenset[str]:
    """Return the folded words kept in a relative's span: kin nouns, modifiers, numbers, age units.

    Read from the de-identification lexicon (``alia_clin/resources/deid/lexicon.json``), all
    languages, plus :data:`_KINSHIP`, particles and titles.
    """
    from .specs import SUPPORTED_LANGUAGES as RULE_LANGUAGES
    from .specs import load_resource

    lexicon = load_resource("lexicon")
    keys = (
        "kin_terms", "kin_terms_after_article", "kin_terms_after_possessive", "kin_modifiers",
        "kin_states", "kin_sides", "kin_possessives", "kin_articles", "number_words", "age_units",
    )
    words = {w for key in keys for lang in RULE_LANGUAGES for entry in lexicon[key].get(lang, ())
             for w in _fold_words(entry)}
    return frozenset(words | _KINSHIP | _PARTICLES | _TITLES)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class SurrogateGenerator:
    """Deterministic surrogate generator for one document of one patient.

    Reads the secret (str or bytes, non-empty), the patient key (an empty string makes the
    mapping consistent only within what the caller generates with that same key, e.g. one
    document), the note language (es/ca/eu/gl) and the original PHI values of the document to
    avoid as surrogates.
    """

    def __init__(
        self,
        secret: str | bytes,
        patient_key: str = "",
        language: str = "es",
        avoid: Iterable[str] = (),
    ) -> None:
        """Store the key material and the folded values/words to avoid; raise E005/E053 if invalid."""
        if language not in SUPPORTED_LANGUAGES:
            choices = ", ".join(SUPPORTED_LANGUAGES)
            raise AliaClinValueError(ErrorCode.E005, language=language, choices=choices)
        if not isinstance(patient_key, str):
            raise AliaClinValueError(ErrorCode.E053, reason="the patient key must be a str")
        self._secret = secret_bytes(secret)
        self._patient_key = patient_key
        self.language = language
        self.locale = FAKER_LOCALES[language]
        values = list(avoid)
        self._avoid_values = frozenset(fold(v) for v in values) - {""}
        self._avoid_words = frozenset(w for v in values for w in _fold_words(v) if len(w) > 1)
        self._date_shift = date_shift_days(self._secret, patient_key)

    @property
    def date_shift_days(self) -> int:
        """Return this patient's date shift in days (non-zero, within ±365)."""
        return self._date_shift

    def _seed(self, *parts: str) -> int:
        """Return a 128-bit seed from the keyed HMAC of (patient key, *parts)."""
        return int.from_bytes(keyed_digest(self._secret, self._patient_key, *parts)[:16], "big")

    def _draw(self, label: str, value: str, make: Callable[[random.Random, Faker], str]) -> str:
        """Return the first candidate ``make`` produces that differs from the original and ``avoid``."""
        key = fold(value)
        candidate = value
        for attempt in range(_MAX_ATTEMPTS):
            seed = self._seed(label, key, str(attempt))
            candidate = make(random.Random(seed), _faker(self.locale, seed))
            folded = fold(candidate)
            if folded != key and folded not in self._avoid_values:
                return candidate
        return candidate

    def surrogate(self, label: str, value: str) -> str | None:
        """Return the surrogate for ``value`` annotated with ``label``, or None (caller tags it)."""
        if not value.strip():
            return value
        handler = self._handler(label)
        if handler is None:
            return None
        return handler(label, value)

    def _handler(self, label: str) -> Callable[[str, str], str | None] | None:
        """Return the method that handles ``label`` (None for labels with no surrogate)."""
        table: dict[str, Callable[[str, str], str | None]] = {
            "EDAD_SUJETO_ASISTENCIA": self._age,
            "SEXO_SUJETO_ASISTENCIA": lambda _label, value: value,
            "FECHAS": self._date,
            "CALLE": self._street,
            "TERRITORIO": self._territory,
            "PAIS": self._country,
            "CORREO_ELECTRONICO": self._email,
            "URL_WEB": self._url,
            "DIREC_PROT_INTERNET": self._ip,
            "PROFESION": self._profession,
            "FAMILIARES_SUJETO_ASISTENCIA": self._relative,
        }
        if label in table:
            return table[label]
        if label in NAME_LABELS:
            return self._name
        if label in FACILITY_LABELS:
            return self._facility
        if label in PHONE_LABELS:
            return self._phone
        if label in ID_LABELS or label.startswith("ID_") or "_ID" in label or label.startswith("NUMERO"):
            return self._identifier
        return None

    # -- names ---------------------------------------------------------------------------

    def _name(self, _label: str, value: str) -> str:
        """Replace each name word of a person name; keep titles, particles, kinship words, spacing."""
        return _WORD_RE.sub(lambda m: self._name_word(m.group()), value)

    def _relative(self, label: str, value: str) -> str:
        """Replace a relative: shift an age (``"65 años"``), else keep kin words, replace name words.

        A kin-only span (``"madre"``, ``"dos hermanas"``, ``"Tío materno"``) comes back unchanged:
        a kin word identifies no one and a person's name in its place would misread the note.
        """
        if _DIGIT_RUN_RE.search(value):
            shifted = self._age(label, value)
            if shifted is not None:
                return shifted
        kin = _family_words()

        def word(match: re.Match[str]) -> str:
            return match.group() if fold(match.group()) in kin else self._name_word(match.group())

        return _WORD_RE.sub(word, value)

    def _name_word(self, word: str) -> str:
        """Return the surrogate of one word of a person name (consistent across name labels)."""
        key = fold(word)
        if key in _TITLES or key in _PARTICLES or key in _KINSHIP:
            return word
        female, male = _given_name_sets()
        kind = "INITIAL" if len(key) == 1 else "F" if key in female else "M" if key in male else "SURNAME"
        candidate = word
        for attempt in range(_MAX_ATTEMPTS):
            rnd = random.Random(self._seed("PERSON_NAME", kind, key, str(attempt)))
            candidate = self._name_candidate(kind, rnd)
            folded = fold(candidate)
            if folded != key and folded not in self._avoid_words:
                break
        return match_case(word, candidate)

    def _name_candidate(self, kind: str, rnd: random.Random) -> str:
        """Return a random given name ("F"/"M"), surname or initial letter."""
        if kind == "INITIAL":
            return rnd.choice("ABCDEFGHIJLMNOPRSTV")
        if kind in ("F", "M"):
            return rnd.choice(_given_names(self.language, kind))
        return rnd.choice(_single_words(tuple(_SpanishPersons.last_names)))

    # -- age, sex, dates -----------------------------------------------------------------

    def _age(self, label: str, value: str) -> str | None:
        """Shift the first number of an age by 1–5 (1–2 under 18); years > 89 become 90."""
        match = _DIGIT_RUN_RE.search(value)
        if match is None:
            return None
        age = int(match.group())
        in_years = _SUBYEAR_UNIT_RE.search(fold_keep_spaces(value)) is None
        if in_years and age > MAX_EXACT_AGE:
            new = TOP_CODED_AGE
        else:
            rnd = random.Random(self._seed(label, fold(value)))
            magnitude = rnd.randint(1, 5 if age >= 18 else 2)
            new = age + (magnitude if rnd.random() < 0.5 else -magnitude)
            if new < 1 or (in_years and new > MAX_EXACT_AGE):
                new = age - magnitude if new > age else age + magnitude
            if new < 1:
                new = age + magnitude
        return value[: match.start()] + str(new) + value[match.end() :]

    def _date(self, label: str, value: str) -> str:
        """Shift a date by the patient's offset keeping its format; unparseable → random date."""
        shifted = shift_date_text(value, self._date_shift, self.language)
        if shifted is not None:
            return shifted
        written = any(ch.isalpha() for ch in value)
        return self._draw(label, value, lambda rnd, _f: random_date_text(rnd, self.language, written))

    # -- places ----------------------------------------------------------------------------

    def _street(self, label: str, value: str) -> str:
        """Keep street-type words and particles, replace the name words and redraw the numbers."""

        def make(rnd: random.Random, fake: Faker) -> str:
            def name(_index: int, words: list[str]) -> str:
                surname = rnd.choice(_single_words(tuple(_SpanishPersons.last_names)))
                if len(words) == 1:
                    return surname
                return f"{rnd.choice(_given_names(self.language, rnd.choice('FM')))} {surname}"

            result = _replace_name_runs(value, _keep_street_word, name, rnd)
            return result if fold(result) != fold(value) else fake.street_address()

        return self._draw(label, value, make)

    def _facility(self, label: str, value: str) -> str:
        """Keep facility-type words (Hospital, CAP, Centro de Salud…), replace the name with a town."""

        def make(rnd: random.Random, fake: Faker) -> str:
            result = _replace_name_runs(value, _keep_facility_word, lambda _i, _w: fake.city(), rnd)
            if fold(result) == fold(value):
                first = _WORD_RE.search(value)
                return f"{first.group() if first else 'Hospital'} {fake.city()}"
            return result

        return self._draw(label, value, make)

    def _territory(self, label: str, value: str) -> str:
        """Replace postcodes with valid-looking ones and place names with Spanish towns."""

        def make(rnd: random.Random, fake: Faker) -> str:
            with_codes = re.sub(r"\b\d{5}\b", lambda _m: fake.postcode(), value)
            return _replace_name_runs(with_codes, lambda w: w in _PARTICLES, lambda _i, _w: fake.city(), rnd)

        return self._draw(label, value, make)

    def _country(self, label: str, value: str) -> str:
        """Return a country name (Faker es_ES), in the case style of the original."""
        return self._draw(label, value, lambda _rnd, fake: match_case(value.strip(), fake.country()))

    def _profession(self, label: str, value: str) -> str:
        """Return a job name (Faker es_ES) in the case style of the original."""
        return self._draw(label, value, lambda _rnd, fake: match_case(value.strip(), fake.job()))

    # -- contact data --------------------------------------------------------------------

    def _email(self, label: str, value: str) -> str:
        """Return a fake e-mail address; a free-mail domain (gmail.com…) is kept, others replaced."""
        domain = value.rpartition("@")[2].strip().casefold()

        def make(_rnd: random.Random, fake: Faker) -> str:
            new_domain = domain if domain in _FREE_MAIL else fake.domain_name()
            return f"{fake.user_name()}@{new_domain}"

        return self._draw(label, value, make)

    def _url(self, label: str, value: str) -> str:
        """Return a fake URL, without a scheme when the original had none."""

        def make(_rnd: random.Random, fake: Faker) -> str:
            url = fake.url()
            if "://" in value:
                return url
            host = url.split("://", 1)[1].rstrip("/")
            return "www." + host if value.strip().casefold().startswith("www.") else host

        return self._draw(label, value, make)

    def _ip(self, label: str, value: str) -> str:
        """Return a fake IP address of the same version, or a shape surrogate if not an IP."""
        try:
            version = ipaddress.ip_address(value.strip()).version
        except ValueError:
            return self._draw(label, value, lambda rnd, _f: shape_surrogate(value, rnd))
        return self._draw(label, value, lambda _r, fake: fake.ipv4() if version == 4 else fake.ipv6())

    def _phone(self, label: str, value: str) -> str:
        """Redraw the digits of a phone number keeping the format, country code and first digit."""
        # A Spanish country code may come without its "+" (MEDDOCAN leaves the "+" out of the span):
        # "34 955 630 418" keeps "34 9".
        prefix = re.match(
            r"[^\d+]*(?:(?:\+|00)\s*(?:34|\d{2,3}(?=\D))\D*|34(?=[ .-]?[6789](?:[ .-]?\d){8}\b)[ .-]?)?\d",
            value,
        )
        digits = sum(ch.isdigit() for ch in value)
        if prefix is None or digits < 6:
            return self._draw(label, value, lambda rnd, _f: shape_surrogate(value, rnd))
        head, tail = value[: prefix.end()], value[prefix.end() :]

        def make(rnd: random.Random, _fake: Faker) -> str:
            return head + re.sub(r"\d", lambda _m: rnd.choice(string.digits), tail)

        return self._draw(label, value, make)

    # -- identifiers ---------------------------------------------------------------------

    def _identifier(self, label: str, value: str) -> str:
        """Redraw an identifier keeping its shape; DNI/NIE keep a valid letter, NASS a valid control."""
        compact = "".join(ch for ch in value if ch.isalnum()).upper()
        if re.fullmatch(r"\d{8}[A-Z]", compact):
            make = _dni_maker(value)
        elif re.fullmatch(r"[XYZ]\d{7}[A-Z]", compact):
            make = _nie_maker(value)
        elif _valid_nass(compact):
            make = _nass_maker(value)
        else:
            return self._draw(label, value, lambda rnd, _f: shape_surrogate(value, rnd))
        return self._draw(label, value, lambda rnd, _f: make(rnd))


def fold_keep_spaces(value: str) -> str:
    """Return ``value`` without accents and case, keeping word boundaries."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _keep_street_word(folded: str) -> bool:
    """Return True for street-type words, particles, floor/door words and single letters."""
    return folded in _STREET_WORDS or folded in _LINKS or len(folded) <= 1


def _keep_facility_word(folded: str) -> bool:
    """Return True for facility-type words and particles."""
    return folded in _FACILITY_WORDS or folded in _LINKS


def _dni_maker(value: str) -> Callable[[random.Random], str]:
    """Return a function that draws a DNI with a valid check letter in the shape of ``value``."""

    def make(rnd: random.Random) -> str:
        number = rnd.randrange(10**8)
        return _fill_alnum(value, f"{number:08d}{dni_check_letter(number)}")

    return make


def _nie_maker(value: str) -> Callable[[random.Random], str]:
    """Return a function that draws a NIE (X/Y/Z + 7 digits + valid letter) shaped like ``value``."""

    def make(rnd: random.Random) -> str:
        prefix, number = rnd.randrange(3), rnd.randrange(10**7)
        letter = dni_check_letter(prefix * 10**7 + number)
        return _fill_alnum(value, f"{'XYZ'[prefix]}{number:07d}{letter}")

    return make


def _nass_maker(value: str) -> Callable[[random.Random], str]:
    """Return a function that draws a NASS (province 01–52, body, valid control) shaped like ``value``."""

    def make(rnd: random.Random) -> str:
        province, body = rnd.randint(1, 52), rnd.randrange(10**8)
        return _fill_alnum(value, f"{province:02d}{body:08d}{nass_control(province, body):02d}")

    return make

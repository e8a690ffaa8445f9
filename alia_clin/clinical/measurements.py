"""Rule-based extraction of clinical measurements (FEVI/LVEF, NT-proBNP, TA, FC, peso…).

Pure functions over a string: :func:`extract_measurements` reads a note text and returns
:class:`Measurement` records with character offsets, numeric value(s), comparator, UCUM unit
and LOINC code. Nothing is logged and no note text goes into errors.

Matching is keyword-anchored ("FEVI del 35 %", "TA: 130/80 mmHg", "creatinina 0,9 mg/dl"),
with a few unit-anchored forms that are unambiguous on their own ("82,5 kg", "88 lpm",
"130/80 mmHg", "31 kg/m2", "38,2 ºC"). A keyword may be followed by a short whitelist of
filler words ("del", "basal", "por Simpson", "(FEVI)", ":"…) before the value; anything else
breaks the match, which is what keeps dates, doses, phone numbers and ages out.

Numbers follow Spanish conventions: decimal comma, thousands dot ("1.250 pg/ml" → 1250,
"0,9" → 0.9). A dot followed by exactly three digits is read as thousands separator unless
that value is implausible for the measurement and the decimal reading is plausible
("creatinina 1.250 mg/dl" → 1.25). Every value must fall in a per-unit plausibility range.

Codes (see DESIGN.md, FHIR mapping): LVEF uses LOINC 10230-1 ("Left ventricular Ejection
fraction", method unspecified; 8806-2 is echo-specific and not used). eGFR uses 62238-1
(CKD-EPI, the formula Spanish labs report) unless the text names MDRD (33914-3). SpO2 uses
59408-5 (pulse oximetry). Creatinine in µmol/L uses 14682-9 (moles/volume). Blood pressure is
one measurement (kind ``BP``, panel 85354-9) whose ``components`` hold systolic (8480-6) and
diastolic (8462-4); its ``value`` is None. A range of home readings ("TA 120-130/70-80 mmHg")
gives components with ``value`` and ``value_high``. A pressure written alone ("TAS 85 mmHg", "PAD 95") is
kind ``SBP`` (8480-6) or ``DBP`` (8462-4) with its ``value``. The NYHA functional class ("clase
funcional II de la NYHA") is kind ``NYHA`` (88020-3), read by :mod:`alia_clin.clinical.
functional_class`: the class as ``value`` (1-4), a range's top as ``value_high``, no unit.

An ejection fraction written as a fraction without unit ("FE: 0,61", "FEVI 0.35") is read as a
percentage (61, 35). A unit may be glued to its number ("82kg", "1,2mg/dl", "140/90mmHg", "72x'",
"37,5ºC"), except a bare "C", which glued is more often a bed or room than degrees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import regex

__all__ = ["LOINC", "Component", "Measurement", "extract_measurements", "parse_number"]

#: LOINC code per kind (the default; some units/keywords override it, see module docstring).
LOINC: dict[str, str] = {
    "LVEF": "10230-1",
    "NT_PROBNP": "33762-6",
    "BNP": "30934-4",
    "BP": "85354-9",
    "SBP": "8480-6",
    "DBP": "8462-4",
    "HR": "8867-4",
    "SPO2": "59408-5",
    "WEIGHT": "29463-7",
    "HEIGHT": "8302-2",
    "BMI": "39156-5",
    "CREATININE": "2160-0",
    "EGFR": "62238-1",
    "SODIUM": "2951-2",
    "POTASSIUM": "2823-3",
    "HEMOGLOBIN": "718-7",
    "HBA1C": "4548-4",
    "TEMPERATURE": "8310-5",
    "RESP_RATE": "9279-1",
    "NYHA": "88020-3",
}
LOINC_SYSTOLIC = LOINC["SBP"]
LOINC_DIASTOLIC = LOINC["DBP"]
LOINC_CREATININE_MOLAR = "14682-9"
LOINC_EGFR_MDRD = "33914-3"

_COMPARATORS: dict[str, str] = {
    "<": "<",
    ">": ">",
    "<=": "<=",
    ">=": ">=",
    "=<": "<=",
    "=>": ">=",
    "≤": "<=",
    "≥": ">=",
    "inferior a": "<",
    "inferior al": "<",
    "menor de": "<",
    "menor del": "<",
    "menor que": "<",
    "menos de": "<",
    "menos del": "<",
    "por debajo de": "<",
    "por debajo del": "<",
    "superior a": ">",
    "superior al": ">",
    "mayor de": ">",
    "mayor del": ">",
    "mayor que": ">",
    "más de": ">",
    "mas de": ">",
    "más del": ">",
    "por encima de": ">",
    "por encima del": ">",
}


@dataclass(frozen=True)
class Component:
    """One component of a multi-valued measurement (systolic/diastolic of ``BP``)."""

    code: str  # LOINC
    value: float
    unit_ucum: str | None
    text_value_start: int
    text_value_end: int
    #: The top of a range ("TA 120-130/70-80": systolic 120 to 130), else None.
    value_high: float | None = None


@dataclass(frozen=True)
class Measurement:
    """A measurement found in a text. Offsets are Python string indices into that text.

    ``start``/``end`` cover keyword, value and unit; ``text_value_start``/``text_value_end``
    cover the value (comparator included; both ends of a range; the qualitative phrase).
    ``unit_text`` is the unit as written, None when the unit was implied (``unit_ucum`` then
    holds the conventional unit for that kind and value, e.g. "%" for "FEVI 35").
    """

    start: int
    end: int
    kind: str
    value: float | None = None
    value_high: float | None = None
    comparator: str | None = None
    unit_ucum: str | None = None
    loinc: str | None = None
    qualitative: str | None = None
    text_value_start: int = 0
    text_value_end: int = 0
    unit_text: str | None = None
    components: tuple[Component, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """A JSON/msgpack-able dict (components as a list of dicts)."""
        d = asdict(self)
        d["components"] = [asdict(c) for c in self.components]
        return d


# --------------------------------------------------------------------------------------------
# Numbers

_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:[.,]\d+)?"
_THOUSANDS = regex.compile(r"\d{1,3}(?:\.\d{3})+(?:,\d+)?")


def parse_number(token: str) -> list[float]:
    """Readings of a numeric token, most likely first.

    "1.250" → [1250.0, 1.25]; "0,9" → [0.9]; "1.250,5" → [1250.5]; "38.5" → [38.5].
    """
    if _THOUSANDS.fullmatch(token):
        readings = [float(token.replace(".", "").replace(",", "."))]
        if "," not in token and token.count(".") == 1:
            readings.append(float(token))
        return readings
    return [float(token.replace(",", "."))]


# --------------------------------------------------------------------------------------------
# Specs


@dataclass(frozen=True)
class _Unit:
    pattern: str
    ucum: str
    low: float
    high: float
    loinc: str | None = None  # overrides the kind's code
    anchor: bool = True  # may this unit anchor a keyword-less match ("82 kg")?
    glued: bool = True  # may it follow the number without a space ("82kg")?


@dataclass(frozen=True)
class _Spec:
    kind: str
    keywords: str
    units: tuple[_Unit, ...]
    fillers: str = ""
    ranges: bool = True
    unit_anchor: bool = False  # also match "<value> <unit>" without a keyword
    unit_required: bool = False


_PCT = r"%|por\s*ciento"
_MEQ = r"mEq\s*/\s*l(?:itro)?|meq\s*/\s*l"
_MMOL = r"mmol\s*/\s*l(?:itro)?"

def _single_pressure(kind: str, letter: str, adjective: str, low: float, high: float) -> _Spec:
    """One blood pressure written on its own ("TAS 85 mmHg", "presión arterial diastólica de 95")."""
    return _Spec(
        kind,
        rf"(?-i:TA{letter}|PA{letter}|T\.A\.{letter}\.)"
        rf"|(?:tensi[oó]n|presi[oó]n|tensi[oó]|pressi[oó])\s+arterial\s+{adjective}",
        (_Unit(r"mm\s*(?:de\s*)?hg", "mm[Hg]", low, high),),
        ranges=False,
    )


_SPECS: tuple[_Spec, ...] = (
    _Spec(
        "LVEF",
        r"fevizda|fevi|feve|lvef|(?-i:FE|EF)"
        r"|fracci[oó]n\s+de\s+e(?:y|j|x)ecci[oó]n(?:\s+(?:d(?:el|o)\s+)?"
        r"(?:ventr[ií]culo\s+(?:izquierdo|esquerdo)|ventricular\s+izquierda|(?-i:VI)))?"
        r"|fracci[oó]\s+d['’]ejecci[oó](?:\s+del\s+ventricle\s+esquerre)?"
        r"|(?:ezkerreko\s+bentrikuluaren\s+)?ejekzio[- ]frakzioa"
        r"|funci[oó]n?\s+sist[oó]lica(?:\s+(?:global|biventricular|del\s+(?-i:VI)|del\s+ventr[ií]culo\s+"
        r"izquierdo|ventricular\s+izquierda))*",
        (_Unit(_PCT, "%", 5, 90),),
        fillers=r"global|del\s+(?-i:VI)|del\s+ventr[ií]culo\s+izquierdo|ventricular\s+izquierda|"
        r"(?:por|seg[uú]n)\s+(?:(?-i:[Ss]impson)(?:\s+biplano)?|(?-i:[Tt]eich(?:holz)?)|m[eé]todo\s+de\s+\w+)"
        r"|biplano|visual|estimada|calculada|(?-i:Teich(?:holz)?|Simpson)",
    ),
    _Spec(
        "NT_PROBNP",
        r"nt[- ]?pro[- ]?bnp|pro-?bnp"
        r"|(?:fracci[oó]n\s+aminoterminal\s+del\s+)?prop[eé]ptido\s+natriur[eé]tico"
        r"\s+(?:cerebral|(?:de\s+)?tipo\s+(?-i:B))(?:\s+(?-i:N)-?terminal)?"
        r"|p[eé]ptido\s+natriur[eé]tico\s+(?:cerebral\s+)?(?-i:N)-?terminal",
        (
            _Unit(r"pg\s*/\s*ml", "pg/mL", 1, 200000),
            _Unit(r"ng\s*/\s*l", "ng/L", 1, 200000),
            _Unit(r"pg\s*/\s*dl", "pg/dL", 1, 200000),
        ),
    ),
    _Spec(
        "BNP",
        r"(?<!pro[- ]?)bnp|p[eé]ptido\s+natriur[eé]tico\s+(?:cerebral|(?:de\s+)?tipo\s+(?-i:B))"
        r"|p[eè]ptid\s+natri[uü]r[eè]tic\s+(?:de\s+)?tipus\s+(?-i:B)",
        (_Unit(r"pg\s*/\s*ml", "pg/mL", 1, 50000), _Unit(r"ng\s*/\s*l", "ng/L", 1, 50000)),
    ),
    _Spec(
        "BP",
        r"(?-i:TA|PA|T\.A\.|P\.A\.|TAS/TAD|PAS/PAD)|tensi[oó]n\s+arterial|presi[oó]n\s+arterial|tensi[oó]\s+arterial"
        r"|pressi[oó]\s+arterial|tentsio\s+arteriala|odol[- ]presioa",
        (_Unit(r"mm\s*(?:de\s*)?hg", "mm[Hg]", 20, 300),),
        fillers=r"sist[eé]mica|sist[oó]lica/diast[oó]lica|sist[oó]lica\s+y\s+diast[oó]lica|(?-i:TAS/TAD)"
        r"|brazo\s+(?:derecho|izquierdo)",
        unit_anchor=True,
    ),
    _single_pressure("SBP", "S", r"sist[oóò]lica", 50, 300),
    _single_pressure("DBP", "D", r"diast[oóò]lica", 20, 200),
    _Spec(
        "HR",
        r"(?-i:FC|Fc|F\.C\.)|frecuencia\s+card[ií]aca|frec\.\s*card[ií]aca|freq[üu][eè]ncia\s+card[ií]aca"
        r"|bihotz[- ]maiztasuna|pulso|(?-i:HR|BM)",
        (
            _Unit(
                r"l\.p\.m\.|lpm|lat(?:idos)?\.?\s*(?:por\s+minuto|/\s*min(?:uto)?)|bpm|ppm"
                r"|pulsaciones\s+por\s+minuto|batecs\s+per\s+minut|taupada\s*/\s*min|tau\s*/\s*min"
                r"|x\s*min(?:uto)?|x['´’]|/\s*min(?:uto)?",
                "/min",
                20,
                300,
            ),
        ),
        unit_anchor=True,
    ),
    _Spec(
        "RESP_RATE",
        r"(?-i:FR|Fr|F\.R\.)|frecuencia\s+respiratoria|frec\.\s*resp(?:iratoria|\.)?|freq[üu][eè]ncia\s+respirat[oò]ria"
        r"|arnasketa[- ]maiztasuna",
        (
            _Unit(
                r"r\.p\.m\.|rpm|resp(?:iraciones|\.)?\s*(?:por\s+minuto|/\s*min(?:uto)?)"
                r"|respiracions\s+per\s+minut|x\s*min(?:uto)?|x['´’]|/\s*min(?:uto)?",
                "/min",
                4,
                80,
                anchor=False,
            ),
        ),
    ),
    _Spec(
        "SPO2",
        r"sato2|sato₂|sao2|spo2|so2|so₂|sat\.?\s*o2|(?-i:Sat|SAT)|pulsioximetr[ií]a|oxigeno[- ]saturazioa"
        r"|saturaci[oó]n?(?:\s+(?:de\s+)?(?:ox[ií]geno|os[ií]xeno|(?-i:O2))|\s+d['’]oxigen)?",
        (_Unit(_PCT, "%", 40, 100),),
        fillers=r"basal|arterial|perif[eé]rica|capilar|(?:a|con)\s+aire\s+ambiente|(?-i:AA)|por\s+pulsioximetr[ií]a"
        r"|\(\s*(?:s[ap]?o2|sat\s*o2)\s*\)",
    ),
    _Spec(
        "WEIGHT",
        r"peso|pesa|pesaba|pes|pisua",
        (_Unit(r"kgs?(?!\s*/)|kilos|kilogramos", "kg", 0.4, 400),),
        fillers=r"actual|seco|habitual|corporal",
        ranges=False,
        unit_anchor=True,
    ),
    _Spec(
        "HEIGHT",
        r"talla|altura|estatura|al[çc]ada|altuera",
        (_Unit(r"cm", "cm", 40, 230), _Unit(r"m(?:ts|etros)?(?![\w/²])", "m", 0.4, 2.3)),
        ranges=False,
    ),
    _Spec(
        "BMI",
        r"imc|bmi|(?-i:GMI)|[ií]nd(?:ice|ex)\s+de\s+mass?a\s+corporal|gorputz[- ]masaren\s+indizea",
        (_Unit(r"kg\s*/\s*m\s*(?:2|²|\^2)", "kg/m2", 10, 90),),
        ranges=False,
        unit_anchor=True,
    ),
    _Spec(
        "CREATININE",
        r"(?<!aclaramiento\s+de\s+)(?:creatinina|(?-i:Cr|Creat)\.?|kreatinina)",
        (
            _Unit(r"mg\s*/\s*dl", "mg/dL", 0.1, 25),
            _Unit(r"(?:[µμu]mol|micromol)\s*/\s*l", "umol/L", 5, 2500, LOINC_CREATININE_MOLAR),
        ),
        fillers=r"s[eé]rica|plasm[aá]tica|basal|previa",
        ranges=False,
    ),
    _Spec(
        "EGFR",
        r"fge|tfge?|egfr|(?-i:FG)|ckd[- ]?epi|mdrd(?:-4)?"
        r"|(?:tasa\s+de\s+)?filtra(?:do|ci[oó]n)\s+glomerular(?:\s+estimad[oa])?|filtrat\s+glomerular(?:\s+estimat)?",
        (
            _Unit(
                r"ml\s*/\s*min(?:uto)?\s*/\s*1[.,]73\s*(?:m\s*(?:2|²|\^2)|m2)?|ml\s*/\s*min(?:uto)?\s*x\s*1[.,]73\s*m\s*(?:2|²)",
                "mL/min/{1.73_m2}",
                1,
                200,
            ),
            _Unit(r"ml\s*/\s*min(?:uto)?(?!\s*/)", "mL/min", 1, 200, anchor=False),
        ),
        fillers=r"\(?(?:(?:ckd-epi|mdrd)(?:-4)?)\)?|estimado|por\s+(?:ckd-epi|mdrd)",
        ranges=False,
        unit_anchor=True,
    ),
    _Spec(
        "SODIUM",
        r"sodioa?|sodi|natremia|(?-i:Na\+?)(?!\w)",
        (_Unit(_MEQ, "meq/L", 90, 190), _Unit(_MMOL, "mmol/L", 90, 190)),
        fillers=r"s[eé]rico|plasm[aá]tico",
        ranges=False,
    ),
    _Spec(
        "POTASSIUM",
        r"potasioa?|potassi|potasemia|kaliemia|(?-i:K\+?)(?![\w+])|(?-i:K\+)",
        (_Unit(_MEQ, "meq/L", 1.5, 10), _Unit(_MMOL, "mmol/L", 1.5, 10)),
        fillers=r"s[eé]rico|plasm[aá]tico",
        ranges=False,
    ),
    _Spec(
        "HBA1C",
        r"(?:hb|hemoglobina)\s*a1c|(?-i:A1c)|(?:hemoglobina|(?-i:Hb))\s+(?:glic(?:osil)?ada|glucosilada)"
        r"|glicohemoglobina|hemoglobina\s+glikatua",
        (_Unit(_PCT, "%", 3, 20),),
        ranges=False,
    ),
    _Spec(
        "HEMOGLOBIN",
        r"(?:hemoglobina|(?-i:Hb|Hgb|HB))(?!\s*(?:glic|gluc|A1|a1))",
        (_Unit(r"g(?:rs?)?\s*/\s*dl", "g/dL", 2, 25), _Unit(r"g(?:rs?)?\s*/\s*l", "g/L", 20, 250)),
        ranges=False,
    ),
    _Spec(
        "TEMPERATURE",
        r"temperatura|(?-i:[Tt]ª|T\s*ª)|(?-i:Ta|T\.?)(?=\s*[:\d])|temp\.?|(?:gorputzeko\s+)?tenperatura",
        # a bare "C" glued to a number is a bed or room ("cama 37C"), not degrees
        (
            _Unit(r"[º°o]\s*C\b|grados(?:\s+cent[ií]grados)?", "Cel", 30, 45),
            _Unit(r"(?-i:C)\b", "Cel", 30, 45, glued=False),
        ),
        fillers=r"axilar|timp[aá]nica|corporal|central",
        ranges=False,
        unit_anchor=True,
    ),
)

# Filler words allowed between a keyword and its value (any kind).
_COMMON_FILLERS = (
    r"\((?:[^()\n\d]{1,30})\)|\[(?:[^\[\]\n\d]{1,30})\]|[:=]|de(?:\s+una?)?|del|la|el|en|al|es|era|fue|se\s+estim[oó]\s+en"
    r"|inicial|previa|previo|actual|m[aá]xima|m[ií]nima|al\s+ingreso|ingreso|aproximadamente|aproximad[ao]|aprox\.?"
    r"|en\s+torno\s+al?|alrededor\s+del?|de\s+hasta|hasta|entre|medida|medido"
)
_CMP = "|".join(regex.escape(c) for c in sorted(_COMPARATORS, key=len, reverse=True))
_RANGE_SEP = r"\s*(?:-|–|—)\s*|\s+(?:a|al|y)\s+"
_NUM_GUARD_L = r"(?<![\w.,/\-])"
_NUM_GUARD_R = r"(?![\w]|[.,]\d|\s*/\s*\d|:\d)"


def _num_end(glued: str, guard: str = _NUM_GUARD_R) -> str:
    """What may follow a number: ``guard``, or one of the units ``glued`` to it.

    Notes often write the unit without a space ("82kg", "1,2mg/dl", "72x'", "37,5ºC"); the
    guard alone would reject those, as the unit's first character is a word character.
    """
    return rf"(?:(?=(?:{glued})(?!\w))|{guard})" if glued else guard


def _value_pattern(ranges: bool, percent_first: bool = False, glued: str = "") -> str:
    end = _num_end(glued)
    num1 = rf"{_NUM_GUARD_L}(?P<v1>{_NUM}){end}"
    num2 = rf"(?P<v2>{_NUM}){end}"
    rng = rf"(?:(?:{_RANGE_SEP}){num2})?" if ranges else ""
    # Basque writes the percent sign first ("SatO2 % 94", "%35"): the unit is then implied.
    pre = r"(?:%\s*)?" if percent_first else ""
    return rf"{pre}(?P<val>(?:(?P<cmp>{_CMP})\s*)?{num1}{rng})"


_BP_GUARD_R = r"(?![\w/]|\s*/\s*\d|[.,]\d)"


def _bp_value(glued: str) -> str:
    """Systolic / diastolic, each optionally a range ("120-130/70-80", home readings)."""
    end = _num_end(glued, _BP_GUARD_R)
    return (
        rf"(?P<val>(?:(?P<cmp>{_CMP})\s*)?{_NUM_GUARD_L}(?P<v1>\d{{2,3}})(?:\s*[-–]\s*(?P<v1b>\d{{2,3}}))?"
        rf"\s*/\s*(?P<v2>\d{{2,3}})(?:\s*[-–]\s*(?P<v2b>\d{{2,3}}))?{end})"
    )


_QUALITATIVE: tuple[tuple[str, str], ...] = (
    (
        r"(?:moderada(?:mente)?[- ]+(?:a\s+)?(?:severa|grave)mente|severa(?:mente)?|grave(?:mente)?|"
        r"muy|marcada(?:mente)?|severament|greument)\s+(?:deprimidas?|reducidas?|disminuidas?|reduïdas?)",
        "severely_reduced",
    ),
    (
        r"moderada(?:mente)?\s+(?:deprimidas?|reducidas?|disminuidas?)|moderadament\s+(?:deprimida|reduïda)",
        "moderately_reduced",
    ),
    (
        r"(?:levemente|ligeramente|discretamente|leve(?:mente)?|lixeiramente|lleugerament)\s+"
        r"(?:deprimidas?|reducidas?|disminuidas?|reduïdas?)|en\s+rango\s+(?:medio|intermedio)|lim[ií]trofe",
        "mildly_reduced",
    ),
    (r"deprimidas?|reducidas?|disminuidas?|reduïdas?|baja", "reduced"),
    (r"conservadas?|preservadas?|normal(?:es)?|normofuncionante|preservada", "preserved"),
)
_QUAL_ALT = "|".join(f"(?P<q{i}>{p})" for i, (p, _) in enumerate(_QUALITATIVE))


def _spec_regex(spec: _Spec) -> regex.Pattern[str]:
    fillers = spec.fillers + "|" + _COMMON_FILLERS if spec.fillers else _COMMON_FILLERS
    gap = rf"(?P<gap>(?:\s*(?:{fillers})(?!\w))*)\s*"
    units = "|".join(f"(?P<u{i}>{u.pattern})" for i, u in enumerate(spec.units))
    glued = "|".join(f"(?:{u.pattern})" for u in spec.units if u.glued)
    if spec.kind == "BP":
        value = _bp_value(glued)
    else:
        value = _value_pattern(spec.ranges, spec.kind in ("LVEF", "SPO2"), glued)
    unit_part = rf"(?:\s*(?P<unit>{units})(?!\w))?"
    kw = rf"(?<![\w\-])(?P<kw>{spec.keywords})(?!\w)"
    alternatives = [rf"{kw}{gap}{value}{unit_part}"]
    if spec.kind == "LVEF":
        qual_num = rf"(?:\s*\(?\s*(?:(?-i:FEVI)\s*)?{_value_pattern(True)}\s*(?P<unit2>%)\)?)?"
        alternatives.append(rf"{kw}{gap}(?P<qual>{_QUAL_ALT})(?!\w){qual_num}")
    if spec.unit_anchor:
        alternatives.append(rf"(?P<bare>{value}\s*(?P<unit>{units})(?!\w))")
    return regex.compile("|".join(f"(?:{a})" for a in alternatives), regex.IGNORECASE | regex.V0)


_COMPILED: tuple[tuple[_Spec, regex.Pattern[str]], ...] = tuple((s, _spec_regex(s)) for s in _SPECS)

# Vital signs and labs written in a row without units ("TA 130/70 FC 75 Tª 36,6 SatO2 99"): the
# next reading's keyword ends a unit-less value too (also glucose, pain, GCS).
_NEXT_READING = "|".join(f"(?:{s.keywords})" for s in _SPECS) + r"|(?-i:GLU|Glu|Gluc|DTX|Dtx|EVA|GCS)"
# Words that may follow a unit-less value; anything else (e.g. "mg", "mEq/8h") rejects it.
_AFTER_UNITLESS = regex.compile(
    r"\s*(?:$|[,.;:)\]\n(]|(?:y|e|con|en|sin|que|tras|previa|previo|frente|vs|i|eta|ni|o|pero|a|al|"
    rf"se|lo|la|el|por|mientras|desde|hasta|para|{_NEXT_READING})(?!\w))",
    regex.IGNORECASE | regex.V0,
)
# Unit-anchored weight/HR forms that are weight changes or oxygen flows, not measurements.
_BARE_BLOCKERS: dict[str, regex.Pattern[str]] = {
    "WEIGHT": regex.compile(
        r"(?:p[eé]rdida|ganancia|aumento|incremento|descenso|reducci[oó]n|bajada|subida|perd|gan[oóa]|"
        r"baj[oóa]|sub[ioóa]|adelgaz|engord|dosis|mg)\w*(?:\s+\w+){0,5}\s*(?:de\s+)?$",
        regex.IGNORECASE,
    ),
    "HR": regex.compile(
        r"(?:ox[ií]geno|(?-i:O2)|gafas|mascarilla|(?-i:GN|VMK)|reservorio|cánula|canula|flujo)[^\n]{0,25}$",
        regex.IGNORECASE,
    ),
}

# "pérdida de peso de 6 kg" is a change of weight, not a weight.
_WEIGHT_CHANGE = regex.compile(
    r"(?:p[eé]rdida|ganancia|aumento|incremento|descenso|reducci[oó]n|disminuci[oó]n|bajada|subida)"
    r"(?:\s+(?:ponderal|de))?\s*$",
    regex.IGNORECASE,
)
# "función sistólica" alone refers to the right ventricle when the sentence is about it.
_RIGHT_VENTRICLE_KW = regex.compile(r"funci[oó]n?\s+sist[oó]lica", regex.IGNORECASE)
_RIGHT_VENTRICLE = regex.compile(r"derech|tapse|(?-i:VD)|\bdret", regex.IGNORECASE)


def _plausible(readings: list[float], unit: _Unit) -> float | None:
    for r in readings:
        if unit.low <= r <= unit.high:
            return r
    return None


_FRACTION = regex.compile(r"0[.,]\d{2}")


def _readings(token: str, fraction: bool) -> list[float]:
    """:func:`parse_number`, with an ejection fraction written as a fraction ("FE: 0,61") read as
    a percentage when ``fraction`` (no unit was written)."""
    if fraction and _FRACTION.fullmatch(token):
        return [round(float(token.replace(",", ".")) * 100, 1)]
    return parse_number(token)


def _match_to_measurement(spec: _Spec, m: regex.Match[str], text: str) -> Measurement | None:
    """Turn one regex match into a Measurement, or None when implausible."""
    gd = m.groupdict()
    bare = gd.get("bare") is not None
    start = m.start("bare") if bare else m.start("kw")
    if bare and spec.kind in _BARE_BLOCKERS and _BARE_BLOCKERS[spec.kind].search(text, 0, start):
        return None
    if spec.kind == "WEIGHT" and _WEIGHT_CHANGE.search(text, max(0, start - 40), start):
        return None
    if spec.kind == "LVEF" and _RIGHT_VENTRICLE_KW.fullmatch(gd["kw"]):
        sentence = text[max(0, start - 80) : start].rsplit(".", 1)[-1]
        if _RIGHT_VENTRICLE.search(sentence):
            return None
    if gd.get("qual") is not None:
        label = next(lab for i, (_, lab) in enumerate(_QUALITATIVE) if gd.get(f"q{i}") is not None)
        if gd.get("v1") is None:
            return Measurement(
                start,
                m.end("qual"),
                spec.kind,
                qualitative=label,
                loinc=LOINC[spec.kind],
                text_value_start=m.start("qual"),
                text_value_end=m.end("qual"),
            )
        v1 = _plausible(parse_number(gd["v1"]), spec.units[0])
        v2 = _plausible(parse_number(gd["v2"]), spec.units[0]) if gd.get("v2") else None
        if v1 is None or (gd.get("v2") and (v2 is None or v2 < v1)):
            return Measurement(
                start,
                m.end("qual"),
                spec.kind,
                qualitative=label,
                loinc=LOINC[spec.kind],
                text_value_start=m.start("qual"),
                text_value_end=m.end("qual"),
            )
        return Measurement(
            start,
            m.end(),
            spec.kind,
            value=v1,
            value_high=v2,
            comparator=_COMPARATORS.get(gd["cmp"].lower()) if gd.get("cmp") else None,
            unit_ucum="%",
            loinc=LOINC[spec.kind],
            qualitative=label,
            text_value_start=m.start("val"),
            text_value_end=m.end("val"),
            unit_text="%",
        )
    unit_idx = next((i for i in range(len(spec.units)) if gd.get(f"u{i}") is not None), None)
    if unit_idx is None:
        if spec.unit_required or not _AFTER_UNITLESS.match(text, m.end("val")):
            return None
        candidates = list(spec.units)
        unit_text = None
        end = m.end("val")
    else:
        candidates = [spec.units[unit_idx]]
        if bare and not candidates[0].anchor:
            return None
        unit_text = gd["unit"]
        end = m.end("unit")
    comparator = _COMPARATORS.get(gd["cmp"].lower()) if gd.get("cmp") else None
    if spec.kind == "BP":
        unit = candidates[0]
        sys_v, dia_v = float(gd["v1"]), float(gd["v2"])
        sys_hi = float(gd["v1b"]) if gd.get("v1b") else None
        dia_hi = float(gd["v2b"]) if gd.get("v2b") else None
        if not (50 <= sys_v <= 300 and 20 <= dia_v <= 200 and sys_v > (dia_hi or dia_v)):
            return None
        if (sys_hi is not None and not sys_v < sys_hi <= 300) or (dia_hi is not None and not dia_v < dia_hi):
            return None
        if (sys_hi is not None or dia_hi is not None) and comparator is not None:
            return None
        comps = (
            Component(
                LOINC_SYSTOLIC, sys_v, unit.ucum, m.start("v1"), m.end("v1b" if sys_hi else "v1"), sys_hi
            ),
            Component(
                LOINC_DIASTOLIC, dia_v, unit.ucum, m.start("v2"), m.end("v2b" if dia_hi else "v2"), dia_hi
            ),
        )
        return Measurement(
            start,
            end,
            "BP",
            comparator=comparator,
            unit_ucum=unit.ucum,
            loinc=LOINC["BP"],
            text_value_start=m.start("val"),
            text_value_end=m.end("val"),
            unit_text=unit_text,
            components=comps,
        )
    fraction = spec.kind == "LVEF" and unit_idx is None
    readings = _readings(gd["v1"], fraction)
    for unit in candidates:
        v1 = _plausible(readings, unit)
        if v1 is None:
            continue
        v2 = None
        if gd.get("v2"):
            v2 = _plausible(_readings(gd["v2"], fraction), unit)
            if v2 is None or v2 < v1:
                return None
        loinc = unit.loinc or LOINC[spec.kind]
        if spec.kind == "EGFR" and "mdrd" in m.group(0).lower():
            loinc = LOINC_EGFR_MDRD
        return Measurement(
            start,
            end,
            spec.kind,
            value=v1,
            value_high=v2,
            comparator=comparator,
            unit_ucum=unit.ucum,
            loinc=loinc,
            text_value_start=m.start("val"),
            text_value_end=m.end("val"),
            unit_text=unit_text,
        )
    return None


# "FR" is also rheumatoid factor ("Inmunología: FR < 9"): written without a unit, it is a
# respiratory rate only next to another vital sign ("FC 75; FR 18; SatO2 97 %").
_RR_ABBREVIATION = regex.compile(r"(?-i:FR|Fr|F\.R\.)(?!\w)")
_VITALS_BESIDE_RR = frozenset({"BP", "SBP", "DBP", "HR", "SPO2", "TEMPERATURE"})
_RR_VITAL_GAP = 40


def _rr_without_context(meas: Measurement, kept: list[Measurement], text: str) -> bool:
    """A unit-less "FR <n>" with no vital sign within :data:`_RR_VITAL_GAP` characters."""
    if meas.kind != "RESP_RATE" or meas.unit_text is not None or not _RR_ABBREVIATION.match(text, meas.start):
        return False
    if meas.comparator is not None:
        return True
    return not any(
        k.kind in _VITALS_BESIDE_RR
        and (0 <= meas.start - k.end <= _RR_VITAL_GAP or 0 <= k.start - meas.end <= _RR_VITAL_GAP)
        for k in kept
    )


def extract_measurements(text: str) -> list[Measurement]:
    """Every measurement in ``text``, non-overlapping, sorted by start offset.

    Overlaps between kinds are resolved by keeping the longest match (then the earliest), so a
    keyword match ("peso 82 kg") wins over the unit-only form ("82 kg") it contains. A respiratory
    rate written "FR <n>" without a unit is kept only beside another vital sign, and never with a
    comparator.
    """
    from .functional_class import nyha_measurements  # it builds on this module's records

    found: list[Measurement] = nyha_measurements(text)
    for spec, pattern in _COMPILED:
        for m in pattern.finditer(text, overlapped=False):
            meas = _match_to_measurement(spec, m, text)
            if meas is not None:
                found.append(meas)
    kept: list[Measurement] = []
    for meas in sorted(found, key=lambda x: (-(x.end - x.start), x.start)):
        if any(meas.start < k.end and k.start < meas.end for k in kept):
            continue
        kept.append(meas)
    kept = [k for k in kept if not _rr_without_context(k, kept, text)]
    return sorted(kept, key=lambda x: (x.start, x.end))

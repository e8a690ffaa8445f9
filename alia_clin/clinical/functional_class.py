"""The NYHA functional class of heart failure, read from text as a measurement.

:func:`nyha_measurements` reads a note text and returns :class:`~alia_clin.clinical.measurements.
Measurement` records of kind ``NYHA`` (LOINC 88020-3, "Functional capacity NYHA"): ``value`` is
the class (1 to 4), ``value_high`` the upper class of a range ("II-III"), no unit. Nothing is
logged.

The class is written in Roman numerals next to the scale's name, in either order:

* name first: "NYHA II", "NYHA: I-II", "clase funcional NYHA III", "clase funcional de la NYHA
  II-III", "NYHA klase funtzionala II";
* class first: "clase funcional II de la NYHA", "CF III/IV NYHA", "clase funcional habitual I de
  la New York Heart Association (NYHA)", "(IV/IV NYHA)", "grado II de la NYHA", "clase funcional
  III avanzada de la NYHA".

A word such as "basal", "previo" or "habitual" may stand between the name and the class.

"/IV" after a class is the scale's top, not a range: "III/IV" is class III, "II-III/IV" the range
II to III. The scale's name must be there ("NYHA", the misspelling "NHYA", or "New York Heart
Association"): a bare "clase funcional II" may be the Canadian angina class, and is left alone.
"""

from __future__ import annotations

import regex

from .measurements import LOINC, Measurement

__all__ = ["NYHA_KIND", "nyha_measurements"]

NYHA_KIND = "NYHA"
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
#: One class in Roman numerals, upper case only ("i" is a word in Catalan).
_R = r"(?-i:IV|III|II|I)(?![\w])"
#: A class or a range, with an optional "/IV" (the scale's top).
_CLASS = rf"(?P<lo>{_R})(?:\s*[-–]\s*(?P<hi>{_R}))?(?:\s*/\s*(?-i:IV)(?![\w]))?"
_NAME = (
    r"(?:(?-i:NYHA|NHYA|N\.Y\.H\.A\.?)(?![\w])"
    r"|New\s+York\s+Heart\s+Association(?:\s*[\[(]\s*(?-i:NYHA|NHYA)\s*[\])])?)"
)
_FUNCTIONAL = r"(?:clase|classe|klase|grado|grau|situación|situacion|situació|clasificación|estadio)"
_QUALIFIER = r"(?:(?:habitual|basal|ambulatoria|ambulatòria|actual|previa|prèvia|basalmente)\s+)?"
_OF = r"(?:(?:de\s+la|de|da|según\s+la|segons\s+la|según|segons)\s+)"
#: A word between the name and the class ("NYHA basal I/IV") or the class and the name ("clase
#: funcional II habitual de la NYHA").
_BETWEEN = r"(?:(?:basal|previo|previa|habitual|actual|avanzada|avançada)\s+)?"
_NAME_FIRST = regex.compile(
    rf"(?<![\w/-])(?P<pre>(?:{_FUNCTIONAL}|(?-i:CF))\s+(?:funcional\s+|funtzionala\s+)?{_OF}?)?{_NAME}"
    rf"\s*(?::\s*)?{_BETWEEN}(?:(?:clase|classe|klase)(?:\s+(?:funcional|funtzionala))?\s+)?(?P<val>{_CLASS})",
    regex.IGNORECASE,
)
_CLASS_FIRST = regex.compile(
    rf"(?<![\w/-])(?P<pre>(?:{_FUNCTIONAL}|(?-i:CF))\s+(?:funcional\s+)?(?:\((?-i:CF)\)\s+)?{_QUALIFIER})?"
    rf"(?P<val>{_CLASS})\s*{_BETWEEN}{_OF}?{_NAME}",
    regex.IGNORECASE,
)


#: The scale's name anywhere: notes without it are not searched further (most notes).
_ANY_NAME = regex.compile(r"NYHA|NHYA|N\.Y\.H\.A|New\s+York", regex.IGNORECASE)


def _measurement(m: regex.Match[str]) -> Measurement | None:
    low = _ROMAN[m.group("lo")]
    high = _ROMAN[m.group("hi")] if m.group("hi") else None
    if high is not None and high <= low:
        return None
    return Measurement(
        m.start(),
        m.end(),
        NYHA_KIND,
        value=float(low),
        value_high=float(high) if high is not None else None,
        loinc=LOINC[NYHA_KIND],
        text_value_start=m.start("val"),
        text_value_end=m.end("val"),
    )


def nyha_measurements(text: str) -> list[Measurement]:
    """Every NYHA class written in ``text`` (see the module docstring), possibly overlapping.

    :func:`~alia_clin.clinical.measurements.extract_measurements` resolves overlaps with the
    other kinds (the longest match wins).
    """
    out: list[Measurement] = []
    if not _ANY_NAME.search(text):
        return out
    for pattern in (_NAME_FIRST, _CLASS_FIRST):
        for m in pattern.finditer(text):
            meas = _measurement(m)
            if meas is not None:
                out.append(meas)
    return out

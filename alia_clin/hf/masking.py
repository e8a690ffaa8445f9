"""Explicit heart-failure diagnosis mentions: find them, and mask them for early detection.

Reads a note text; returns character spans (:func:`find_hf_mentions`) or a masked copy of the
text (:func:`mask_hf_mentions`) in which every explicit HF diagnosis mention and abbreviation is
replaced by spaces of the same length, so every other offset is unchanged and no placeholder
token is left for a model to learn from. Nothing is logged.

What counts as an explicit mention (es first, ca/eu/gl and English terms too):

* "insuficiencia cardiaca/cardíaca" (+ congestiva, aguda, crónica, descompensada, izquierda,
  derecha, global, sistólica, diastólica, "con fracción de eyección reducida/preservada…"),
  "fallo/fracaso cardiaco", "insuficiencia ventricular izquierda/derecha", "fallo ventricular",
  "cardiac/heart failure";
* Catalan "insuficiència cardíaca", Basque "bihotz(-)gutxiegitasun…", Galician
  "insuficiencia cardíaca";
* abbreviations, case-sensitive: IC, ICC, ICA, ICD (HF sense only, see below), ICFEr, ICFEp,
  ICFEc, ICFEm, ICFElr, ICFEVIr…, IC-FEr, HFrEF, HFpEF, HFmrEF, ICCV.

"IC" is ambiguous: "IC 95 %" / "IC del 95 %" (confidence interval) and "IC:" headers of
"interconsulta" are left alone; "IC" is masked only when it stands alone in upper case.
"ICD" is the implantable cardioverter-defibrillator in most Spanish notes and is never masked.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex

__all__ = ["HF_MENTION", "HfMention", "find_hf_mentions", "mask_hf_mentions"]

_CARD = r"card[ií]ac[ao]s?|card[ií]aca"
_QUAL = (
    r"(?:\s+(?:congestiva|aguda|cr[oó]nica|descompensada|izquierda|derecha|global|sist[oó]lica|"
    r"diast[oó]lica|avanzada|refractaria|terminal|biventricular|grave|severa|leve))*"
)
_FE = (
    r"(?:\s+(?:con|de)\s+(?:la\s+)?(?:fracci[oó]n\s+de\s+eyecci[oó]n|FE|FEVI)(?:\s+(?:del?\s+)?"
    r"(?:ventr[ií]culo\s+izquierdo|VI))?\s+(?:ligeramente\s+|moderadamente\s+|levemente\s+)?"
    r"(?:reducida|deprimida|preservada|conservada|intermedia|recuperada|mejorada|normal))?"
)
_PATTERNS = [
    # Spanish / Galician
    rf"(?i:insuficiencia\s+(?:{_CARD}){_QUAL}{_FE})",
    rf"(?i:(?:fallo|fracaso)\s+(?:{_CARD}|card[ií]aco){_QUAL})",
    r"(?i:(?:insuficiencia|fallo|disfunci[oó]n\s+sist[oó]lica\s+e\s+insuficiencia)\s+ventricular\s+"
    r"(?:izquierd[ao]|derech[ao]))",
    # Catalan
    r"(?i:insufici[eè]ncia\s+card[ií]aca(?:\s+(?:congestiva|aguda|cr[oò]nica|descompensada|esquerra|dreta))*)",
    # Basque
    r"(?i:bihotz[-\s]?gutxiegitasun\w*)",
    # English
    r"(?i:(?:congestive\s+)?(?:heart|cardiac)\s+failure)",
    # Abbreviations (case-sensitive, standalone)
    r"(?<![\w-])(?:IC[-\s]?FE(?:VI)?[rpcm]?|ICFE(?:VI)?(?:lr|[rpcm])|ICC(?:V)?|ICA|HF[rpm]r?EF)(?![\w-])",
    r"(?<![\w-])IC(?![\w-])(?!\s*:)(?!\s*(?:del?\s+)?(?:al\s+)?\d{2}\s*%)(?!\s+\d)",
]
#: The compiled pattern of every explicit HF diagnosis mention.
HF_MENTION = regex.compile("|".join(f"(?:{p})" for p in _PATTERNS), regex.V1)


@dataclass(frozen=True)
class HfMention:
    """An explicit heart-failure mention: character offsets into the text (no text kept)."""

    start: int
    end: int


def find_hf_mentions(text: str) -> list[HfMention]:
    """Every explicit HF diagnosis mention of ``text``, in order, non-overlapping (longest first)."""
    found = [HfMention(m.start(), m.end()) for m in HF_MENTION.finditer(text, overlapped=False)]
    return [m for m in found if m.end > m.start]


def mask_hf_mentions(text: str) -> str:
    """``text`` with every explicit HF mention replaced by spaces of the same length.

    The result has the same length as ``text``, so offsets computed on it index the original.
    """
    if not text:
        return text
    chars = list(text)
    for m in find_hf_mentions(text):
        for i in range(m.start, m.end):
            if not chars[i].isspace():
                chars[i] = " "
    return "".join(chars)

"""Drug words used as lab analytes: "potasio 4,2 mEq/l", "triglicéridos 308 mg/dl", "digoxina 1,1 ng/ml".

A substance directly followed by a concentration value is a laboratory result, not a drug the
patient takes. In CardioCCC train (203 notes) 2,189 words are directly followed by one (a number
and a mass or amount per volume unit, :data:`CONCENTRATION`); none of them ends a FARMACO entity
of the gold annotation (3 end a SINTOMA, "microalbuminuria 3,03 mg/dl"). Drug words among them:
sodio 103, potasio 101, hierro 19, calcio 18, magnesio 8, bicarbonato 8, B12 5, fólico 5.

Per millilitre only the units of blood levels count (ng, pg, µg, mU, nmol, pmol per ml): mg/ml,
UI/ml and mEq/ml are the strengths of drug presentations ("insulina glargina 100 UI/ml",
"cloruro potásico 2 mEq/ml") and stay drugs.

:func:`drop_lab_analytes` reads ``doc.ents`` and writes ``doc.ents`` without the FARMACO
entities directly followed by such a value (``alia_ner`` and ``alia_terms`` call it, option
``lab_values``). Nothing is logged.
"""

from __future__ import annotations

import re

from spacy.tokens import Doc

#: A concentration value right after a mention: optional ":" / "=" / "de", a comparator, a
#: number (Spanish or English separators) and a mass or amount per volume unit.
CONCENTRATION = re.compile(
    r"[ \t]{0,2}[:=]?[ \t]{0,2}(?:de[ \t]+)?[<>≤≥]?[ \t]?\d+(?:[.,]\d+)*[ \t]?"
    r"(?:(?:mg|g|ng|pg|µg|μg|ug|mcg|mmol|meq|mu|u|ui|nmol|pmol|µmol|μmol|umol|mosm)[ \t]?/[ \t]?(?:dl|l)"
    r"|(?:ng|pg|µg|μg|ug|mu|nmol|pmol)[ \t]?/[ \t]?ml)(?![\w])",
    re.IGNORECASE,
)
#: The label this applies to.
DRUG_LABEL = "FARMACO"


def followed_by_concentration(text: str, end: int) -> bool:
    """Whether a concentration value (:data:`CONCENTRATION`) starts at character ``end``."""
    return CONCENTRATION.match(text, end) is not None


def drop_lab_analytes(doc: Doc) -> int:
    """Remove from ``doc.ents`` the FARMACO entities directly followed by a concentration value;
    return how many were removed."""
    text = doc.text
    kept = [
        e for e in doc.ents if not (e.label_ == DRUG_LABEL and followed_by_concentration(text, e.end_char))
    ]
    removed = len(doc.ents) - len(kept)
    if removed:
        doc.ents = kept
    return removed

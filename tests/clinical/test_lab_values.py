"""Drug words used as lab analytes (alia_clin.clinical.lab_values): which values count, and the
FARMACO entities that are dropped."""

from __future__ import annotations

import pytest
import spacy
from spacy.tokens import Span

from alia_clin import TOKENIZER
from alia_clin.clinical.lab_values import drop_lab_analytes, followed_by_concentration


@pytest.mark.parametrize(
    "after",
    [
        " 4,2 mEq/l",
        ": 3.1 mmol/L",
        " de 308 mg/dl",
        " = 1,1 ng/ml",
        " <5 µg/dl",
        " 1.250 pg/mL",
        " 12 U/L",
        " 0,5 mg/dL.",
    ],
)
def test_concentration_values(after: str) -> None:
    text = "potasio" + after
    assert followed_by_concentration(text, len("potasio"))


@pytest.mark.parametrize(
    "after",
    [
        " 40 mg/24 h",  # a dose
        " 100 UI/ml",  # the strength of a presentation ("insulina glargina 100 UI/ml")
        " 2 mEq/ml",
        " 20 mg/ml",
        " 1 mg/kg",
        " 500 ml",
        " en perfusión",
        " 4,2 mEq/lpm",  # not a unit on its own
    ],
)
def test_doses_and_strengths_are_not_lab_values(after: str) -> None:
    assert not followed_by_concentration("potasio" + after, len("potasio"))


def test_drop_lab_analytes_keeps_drugs_and_other_labels() -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    text = "Potasio 5,9 mEq/l; se suspende espironolactona y se pauta potasio oral. Microalbuminuria 30 mg/l."
    doc = nlp.make_doc(text)

    def span(word: str, label: str, nth: int = 0) -> Span:
        start = -1
        for _ in range(nth + 1):
            start = text.index(word, start + 1)
        made = doc.char_span(start, start + len(word), label=label)
        assert made is not None
        return made

    doc.ents = [
        span("Potasio", "FARMACO"),
        span("espironolactona", "FARMACO"),
        span("potasio", "FARMACO"),
        span("Microalbuminuria", "SINTOMA"),
    ]
    assert drop_lab_analytes(doc) == 1
    assert [(e.text, e.label_) for e in doc.ents] == [
        ("espironolactona", "FARMACO"),
        ("potasio", "FARMACO"),
        ("Microalbuminuria", "SINTOMA"),
    ]
    assert drop_lab_analytes(doc) == 0

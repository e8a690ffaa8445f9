"""Labelling rules and the dataset split (synthetic documents only)."""

from __future__ import annotations

import pytest

import alia_clin
from alia_clin.context.lexicon import ContextLexicon, load_lexicon_data
from alia_clin.hf.dataset import HfDocument, assign_splits, label_documents, summary
from alia_clin.hf.labels import hf_entity_spans, is_hf_code, label_from_assertions, label_from_codes


@pytest.mark.parametrize(
    ("code", "hf"),
    [
        ("i50.9", True),
        ("I50.22", True),
        ("I11.0", True),
        ("i13.2", True),
        ("I09.81", True),
        ("I11.9", False),
        ("I25.10", False),
        ("I34.0", False),
        ("R60.9", False),
    ],
)
def test_hf_codes(code: str, hf: bool) -> None:
    assert is_hf_code(code) is hf


def test_codes_and_assertion_rules() -> None:
    assert label_from_codes(["r06.0", "i50.1"])
    assert not label_from_codes(["r06.0"])
    assert label_from_assertions(["negated", "historical"])
    assert not label_from_assertions(["negated", "family", "uncertain", "hypothetical"])


def test_entity_spans_only_inside_disease_spans() -> None:
    text = "Ingresa por insuficiencia cardiaca. Se pauta furosemida."
    start = text.index("insuficiencia")
    spans = [(start, start + 22, "ENFERMEDAD"), (text.index("furosemida"), len(text) - 1, "FARMACO")]
    assert hf_entity_spans(text, spans) == [(start, start + 22)]
    assert hf_entity_spans(text, [(0, 7, "DISEASE")]) == []


@pytest.fixture(scope="module")
def make_doc():  # type: ignore[no-untyped-def]
    nlp = alia_clin.load()
    sections = nlp.get_pipe("alia_sections")
    return lambda text: sections(nlp.make_doc(text))


@pytest.fixture(scope="module")
def lexicon() -> ContextLexicon:
    return ContextLexicon.from_data(load_lexicon_data("es"))


def _gold(text: str, phrase: str) -> list[tuple[int, int, str]]:
    s = text.index(phrase)
    return [(s, s + len(phrase), "DISEASE")]


def test_label_documents(make_doc, lexicon: ContextLexicon) -> None:  # type: ignore[no-untyped-def]
    t_pos = "Varón de 80 años con insuficiencia cardiaca crónica en tratamiento."
    t_neg = "Se descarta insuficiencia cardiaca. Alta a domicilio."
    t_fam = "Antecedentes familiares: padre con insuficiencia cardiaca."
    t_hyp = "Riesgo de insuficiencia cardiaca si no mejora."
    docs = [
        HfDocument(
            "a", t_pos, ["cardioccc/train"], gold_spans=_gold(t_pos, "insuficiencia cardiaca crónica")
        ),
        HfDocument("b", t_neg, ["cardioccc/train"], gold_spans=_gold(t_neg, "insuficiencia cardiaca")),
        HfDocument("c", t_fam, ["cardioccc/train"], gold_spans=_gold(t_fam, "insuficiencia cardiaca")),
        HfDocument("d", "Dolor abdominal sin más.", ["codiesp/train"], codes=["i50.9"]),
        HfDocument("e", t_pos, ["codiesp/train"], codes=["r06.0"]),  # mentions rule (no gold spans)
        HfDocument("f", t_neg, ["codiesp/train"]),
        HfDocument("g", t_hyp, ["codiesp/train"]),
        HfDocument("h", t_pos, ["cardioccc/train"], gold_spans=[]),  # annotated, but no HF span
    ]
    label_documents(docs, make_doc, lexicon)
    got = {d.id: (d.label, d.rules) for d in docs}
    assert got == {
        "a": (True, ["entities"]),
        "b": (False, []),
        "c": (False, []),
        "d": (True, ["codes"]),
        "e": (True, ["mentions"]),
        "f": (False, []),
        "g": (False, []),
        "h": (False, []),
    }


def test_split_is_fixed_and_groups_shared_text() -> None:
    long = "Esta es una frase muy larga compartida por dos documentos distintos del corpus, " * 2
    docs = [HfDocument(f"doc{i}", f"Nota {i}.", ["x/train"]) for i in range(200)]
    docs += [HfDocument("dupA", long + " A", ["x/train"]), HfDocument("dupB", long + " B", ["x/train"])]
    assign_splits(docs, dev_fraction=0.3)
    first = [d.split for d in docs]
    assign_splits(list(reversed(docs)), dev_fraction=0.3)
    assert [d.split for d in docs] == first
    assert docs[-1].split == docs[-2].split
    dev_share = first.count("dev") / len(first)
    assert 0.15 < dev_share < 0.45
    s = summary(docs)
    assert s["dev"]["documents"] + s["train"]["documents"] == len(docs)

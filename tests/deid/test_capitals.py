"""Facility rule matches on lines written in capitals (alia_clin.deid.capitals) and in the stage."""

from __future__ import annotations

from pathlib import Path

import spacy

import alia_clin
from alia_clin.deid.capitals import FACILITY_SOURCES, revise_capital_facilities
from alia_clin.deid.rules import PhiMatch
from alia_clin.encoder.casing import capital_lines, fold_capitals

RULES = frozenset({"HospitalRecognizer", "InstitutionRecognizer", "DateNumericRecognizer"})
CAPS_NOTE = (
    "PACIENTE DE 70 AÑOS QUE INGRESA EN EL HOSPITAL POR DOLOR ABDOMINAL DE DOS DÍAS DE EVOLUCIÓN.\n"
    "LA CLÍNICA DE UN MES DE EVOLUCIÓN CON DISNEA Y ANGINA MEJORA TRAS EL TRATAMIENTO.\n"
    "ES TRASLADADO AL HOSPITAL SANTA EULALIA DE LOS MOLINOS POR FALTA DE CAMAS EL 03/02/2024.\n"
)


def _hospital(text: str, phrase: str, source: str = "HospitalRecognizer", score: float = 0.7) -> PhiMatch:
    start = text.index(phrase)
    return PhiMatch(start, start + len(phrase), "HOSPITAL", score, source)


def _revise(cands: list[PhiMatch], text: str) -> list[PhiMatch]:
    return revise_capital_facilities(
        cands, text, capital_lines(text), rule_sources=RULES, model_min_score=0.3
    )


def _texts(text: str, matches: list[PhiMatch]) -> list[tuple[str, str]]:
    return [(text[m.start : m.end], m.label) for m in matches]


def test_capital_lines_are_the_lines_the_encoder_folds() -> None:
    ordinary = (
        "ANTECEDENTES PERSONALES:\nHTA y DM2. Ingresa en el Hospital Santa Eulalia por disnea de esfuerzo"
        " progresiva y edemas en ambas piernas desde hace dos meses.\n"
    )
    assert capital_lines(ordinary) == []  # a short heading in an ordinary note is left alone
    long_caps = (
        "Nota.\n"
        + "PACIENTE CON DISNEA DE ESFUERZO PROGRESIVA Y EDEMAS EN AMBAS PIERNAS DESDE HACE DOS MESES\n"
    )
    assert capital_lines(long_caps) == [(6, len(long_caps))]
    lines = capital_lines(CAPS_NOTE)
    assert len(lines) == 3 and lines[0][0] == 0 and lines[-1][1] == len(CAPS_NOTE)
    folded = fold_capitals(CAPS_NOTE)
    assert folded == CAPS_NOTE.lower() and len(folded) == len(CAPS_NOTE)


def test_a_head_running_through_the_sentence_is_cut_or_dropped() -> None:
    text = CAPS_NOTE
    cands = [
        _hospital(text, "HOSPITAL POR DOLOR ABDOMINAL DE DOS DÍAS DE EVOLUCIÓN"),
        _hospital(text, "CLÍNICA DE UN MES DE EVOLUCIÓN CON DISNEA Y ANGINA MEJORA"),
        _hospital(text, "HOSPITAL SANTA EULALIA DE LOS MOLINOS POR FALTA DE CAMAS EL"),
    ]
    assert _texts(text, _revise(cands, text)) == [("HOSPITAL SANTA EULALIA DE LOS MOLINOS", "HOSPITAL")]


def test_a_model_candidate_replaces_the_rule_match() -> None:
    text = CAPS_NOTE
    rule = _hospital(text, "HOSPITAL SANTA EULALIA DE LOS MOLINOS POR FALTA DE CAMAS EL")
    model = _hospital(text, "HOSPITAL SANTA EULALIA", source="model", score=0.8)
    weak = _hospital(text, "HOSPITAL SANTA EULALIA", source="model", score=0.1)
    assert _revise([rule, model], text) == [model]
    kept = _revise([rule, weak], text)  # too weak to stand for it: the rule match is cut instead
    assert _texts(text, [m for m in kept if m.source != "model"]) == [
        ("HOSPITAL SANTA EULALIA DE LOS MOLINOS", "HOSPITAL")
    ]


def test_other_sources_and_ordinary_lines_are_untouched() -> None:
    text = "Ingresa en el Hospital Santa Eulalia por dolor.\n" + CAPS_NOTE
    ordinary = _hospital(text, "Hospital Santa Eulalia")
    start = text.index("03/02/2024")
    date = PhiMatch(start, start + 10, "FECHAS", 1.0, "DateNumericRecognizer")
    assert "DateNumericRecognizer" not in FACILITY_SOURCES
    assert _revise([ordinary, date], text) == [ordinary, date]
    assert revise_capital_facilities([ordinary], text, [], rule_sources=RULES, model_min_score=0.3) == [
        ordinary
    ]


def test_trailing_connectors_and_punctuation_are_not_kept() -> None:
    text = (
        "ACUDE AL COMPLEJO HOSPITALARIO DE LA RIBERA, DONDE SE LE REALIZA UNA ECOGRAFÍA ABDOMINAL COMPLETA.\n"
    )
    cut = _revise([_hospital(text, "COMPLEJO HOSPITALARIO DE LA RIBERA, DONDE SE")], text)
    assert _texts(text, cut) == [("COMPLEJO HOSPITALARIO DE LA RIBERA", "HOSPITAL")]


def _phi(nlp: spacy.language.Language, text: str) -> list[tuple[int, int, str]]:
    doc = nlp(text)
    return [(s.start_char, s.end_char, s.label_) for s in doc.spans["phi"]]


class _SilentModel:
    """A stand-in model layer that proposes nothing (the real head comes with the encoder)."""

    def predict(self, docs: list[spacy.tokens.Doc]) -> list[list[PhiMatch]]:
        return [[] for _ in docs]


def test_the_stage_in_capitals(tmp_path: Path) -> None:
    nlp = alia_clin.build_rules_pipeline()
    rules_only = _phi(nlp, CAPS_NOTE)
    nlp.get_pipe("alia_deid").add_source("model", _SilentModel())
    phi = [(CAPS_NOTE[s:e], label) for s, e, label in _phi(nlp, CAPS_NOTE)]
    facilities = [p for p in phi if p[1] in ("HOSPITAL", "INSTITUCION", "CENTRO_SALUD")]
    assert facilities == [("HOSPITAL SANTA EULALIA DE LOS MOLINOS", "HOSPITAL")]
    assert ("03/02/2024", "FECHAS") in phi
    nlp.get_pipe("alia_deid").cfg["capitals_facilities"] = False
    before = _phi(nlp, CAPS_NOTE)
    assert len([p for p in before if p[2] == "HOSPITAL"]) > 1  # the rules alone run on through sentences
    assert before == rules_only  # without a model layer nothing is revised
    nlp.to_disk(tmp_path / "p")
    assert spacy.load(tmp_path / "p").get_pipe("alia_deid").cfg["capitals_facilities"] is False


def test_ordinary_notes_are_unchanged_by_the_switch(synthetic_note: str) -> None:
    nlp = alia_clin.build_rules_pipeline()
    on = _phi(nlp, synthetic_note)
    nlp.get_pipe("alia_deid").cfg["capitals_facilities"] = False
    off = _phi(nlp, synthetic_note)
    assert on == off and on


def test_a_model_that_read_the_capitals_unfolded_replaces_nothing() -> None:
    text = CAPS_NOTE
    rule = _hospital(text, "HOSPITAL SANTA EULALIA DE LOS MOLINOS POR FALTA DE CAMAS EL")
    model = _hospital(text, "HOSPITAL SANTA", source="model", score=0.8)
    kept = revise_capital_facilities(
        [rule, model], text, capital_lines(text), rule_sources=RULES, model_min_score=0.3, trust_model=False
    )
    assert _texts(text, kept) == [
        ("HOSPITAL SANTA EULALIA DE LOS MOLINOS", "HOSPITAL"),
        ("HOSPITAL SANTA", "HOSPITAL"),
    ]

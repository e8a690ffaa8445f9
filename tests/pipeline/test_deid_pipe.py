"""The alia_deid stage: spans, attrs, exact offsets, uninitialized use, merging, round-trips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy

import alia_clin
from alia_clin.deid.rules import PhiMatch
from alia_clin.errors import AliaClinRuntimeError, AliaClinValueError
from alia_clin.pipeline.deid import merge_candidates


def _phi(doc: spacy.tokens.Doc) -> list[tuple[int, int, str]]:
    return [(s.start_char, s.end_char, s.label_) for s in doc.spans["phi"]]


def test_rules_pipeline_finds_identifiers(synthetic_note: str) -> None:
    nlp = alia_clin.build_rules_pipeline()
    doc = nlp(synthetic_note)
    found = {(synthetic_note[s:e], label) for s, e, label in _phi(doc)}
    assert ("03/02/2024", "FECHAS") in found
    assert ("marta.ibarra@example.org", "CORREO_ELECTRONICO") in found
    assert ("612 345 678", "NUMERO_TELEFONO") in found
    assert ("71 años", "EDAD_SUJETO_ASISTENCIA") in found
    assert ("4455667", "ID_SUJETO_ASISTENCIA") in found
    group = doc.spans["phi"]
    assert len(group.attrs["scores"]) == len(group) == len(group.attrs["sources"])
    assert doc.text == synthetic_note  # never rewritten


def test_offsets_are_exact_even_inside_tokens() -> None:
    nlp = alia_clin.build_rules_pipeline()
    text = "Contacto:612345678, email:ana.ruiz@example.com."
    doc = nlp(text)
    spans = {text[s:e] for s, e, _ in _phi(doc)}
    assert "612345678" in spans
    assert "ana.ruiz@example.com" in spans


def test_uninitialized_pipe_raises_coded_error() -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_deid")
    with pytest.raises(AliaClinRuntimeError, match=r"\[E001\]"):
        nlp("Texto sin datos.")


def test_merge_prefers_score_then_length() -> None:
    a = PhiMatch(0, 10, "ID_SUJETO_ASISTENCIA", 1.0, "dni")
    b = PhiMatch(0, 15, "CALLE", 0.6, "model")
    c = PhiMatch(20, 25, "FECHAS", 0.6, "rules")
    d = PhiMatch(18, 26, "FECHAS", 0.6, "model")
    assert merge_candidates([b, a, c, d]) == [a, d]


def test_merge_rules_first_keeps_rules_and_adds_confident_model_spans() -> None:
    rule = PhiMatch(20, 25, "FECHAS", 0.6, "DateRecognizer")
    overlapping = PhiMatch(18, 26, "FECHAS", 0.99, "model")  # beats the rule under "score"
    confident = PhiMatch(0, 5, "NOMBRE_SUJETO_ASISTENCIA", 0.97, "model")
    unsure = PhiMatch(30, 35, "HOSPITAL", 0.6, "model")
    cands = [rule, overlapping, confident, unsure]
    assert merge_candidates(cands) == [confident, overlapping, unsure]
    rules = frozenset({"DateRecognizer"})
    kept = merge_candidates(cands, "rules_first", rule_sources=rules, other_min_score=0.9)
    assert kept == [confident, rule]


def test_merge_rules_extend_widens_rule_matches_with_model_extents() -> None:
    rules = frozenset({"StreetRecognizer", "DniRecognizer"})
    street = PhiMatch(10, 20, "CALLE", 0.6, "StreetRecognizer")  # stops short of the number
    longer = PhiMatch(10, 26, "CALLE", 0.8, "model")
    dni = PhiMatch(40, 49, "ID_SUJETO_ASISTENCIA", 1.0, "DniRecognizer")  # checksum-validated
    around = PhiMatch(36, 49, "ID_EMPLEO_PERSONAL_SANITARIO", 0.7, "model")
    name = PhiMatch(60, 66, "NOMBRE_SUJETO_ASISTENCIA", 0.7, "StreetRecognizer")
    bridge = PhiMatch(55, 80, "NOMBRE_SUJETO_ASISTENCIA", 0.9, "model")  # would swallow `other`
    other = PhiMatch(75, 79, "FECHAS", 0.95, "StreetRecognizer")
    weak = PhiMatch(0, 9, "HOSPITAL", 0.2, "model")
    cands = [street, longer, dni, around, name, bridge, other, weak]
    kept = merge_candidates(cands, "rules_extend", rule_sources=rules, other_min_score=0.3)
    assert kept == [
        PhiMatch(10, 26, "CALLE", 0.8, "model"),  # the model's extent and (higher) score
        PhiMatch(36, 49, "ID_SUJETO_ASISTENCIA", 1.0, "DniRecognizer"),  # wider, label kept
        name,  # its union with `bridge` would overlap `other`
        other,
    ]
    # rules_first keeps the rule extents; at a higher threshold nothing is widened
    assert merge_candidates(cands, "rules_first", rule_sources=rules, other_min_score=0.3) == [
        street,
        dni,
        name,
        other,
    ]
    assert merge_candidates(iter(cands), "rules_extend", rule_sources=rules, other_min_score=0.3) == kept
    assert merge_candidates(cands, "rules_extend", rule_sources=rules, other_min_score=0.95) == [
        street,
        dni,
        name,
        other,
    ]


def test_merge_policy_is_validated_and_saved(tmp_path: Path) -> None:
    nlp = spacy.blank("es")
    with pytest.raises(AliaClinValueError, match=r"\[E107\]"):
        nlp.add_pipe("alia_deid", config={"merge": "longest"})
    nlp.add_pipe("alia_deid", config={"merge": "rules_first", "model_min_score": 0.9})
    nlp.initialize()
    nlp.get_pipe("alia_deid").add_source("model", _FakeModel())
    doc = nlp("Pedro ingresa el 03/02/2024.")
    assert (0, 5, "NOMBRE_SUJETO_ASISTENCIA") in _phi(doc)  # 0.9 >= model_min_score, no rule there
    nlp.to_disk(tmp_path / "p")
    loaded = spacy.load(tmp_path / "p")
    assert loaded.get_pipe("alia_deid").cfg["merge"] == "rules_first"
    assert loaded.get_pipe("alia_deid").cfg["model_min_score"] == 0.9


class _WiderDate:
    """A stand-in model layer whose date span starts two words before the rule's."""

    def predict(self, docs: list[spacy.tokens.Doc]) -> list[list[PhiMatch]]:
        return [[PhiMatch(14, 27, "FECHAS", 0.9, "model")] for _ in docs]


def test_rules_extend_in_the_stage() -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_deid", config={"merge": "rules_extend", "model_min_score": 0.3})
    nlp.initialize()
    text = "Pedro ingresa el 03/02/2024."
    assert (17, 27, "FECHAS") in _phi(nlp(text))  # the rule alone
    nlp.get_pipe("alia_deid").add_source("model", _WiderDate())
    phi = _phi(nlp(text))
    assert (14, 27, "FECHAS") in phi and (17, 27, "FECHAS") not in phi


class _FakeModel:
    """A stand-in model layer proposing one span per doc (the real head comes with the encoder)."""

    def predict(self, docs: list[spacy.tokens.Doc]) -> list[list[PhiMatch]]:
        return [[PhiMatch(0, 5, "NOMBRE_SUJETO_ASISTENCIA", 0.9, "model")] for _ in docs]


def test_model_layer_plugs_in() -> None:
    nlp = alia_clin.build_rules_pipeline()
    nlp.get_pipe("alia_deid").add_source("model", _FakeModel())
    doc = nlp("Pedro ingresa el 03/02/2024.")
    assert (0, 5, "NOMBRE_SUJETO_ASISTENCIA") in _phi(doc)
    assert "model" in doc.spans["phi"].attrs["sources"]


def test_galician_blank_pipeline_works() -> None:
    nlp = spacy.blank("gl")
    nlp.add_pipe("alia_deid")
    nlp.initialize()
    text = "Data de ingreso: 3 de xaneiro de 2024. Teléfono 981 123 456."
    doc = nlp(text)
    assert ("981 123 456", "NUMERO_TELEFONO") in {(text[s:e], lab) for s, e, lab in _phi(doc)}


def test_doc_bytes_roundtrip_keeps_spans(synthetic_note: str) -> None:
    nlp = alia_clin.build_rules_pipeline()
    doc = nlp(synthetic_note)
    doc2 = spacy.tokens.Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert _phi(doc2) == _phi(doc)
    assert doc2.spans["phi"].attrs["scores"] == doc.spans["phi"].attrs["scores"]


def test_to_disk_spacy_load_in_fresh_process(tmp_path: Path, synthetic_note: str) -> None:
    """nlp.to_disk → spacy.load in a new interpreter that never imports alia_clin itself."""
    nlp = alia_clin.build_rules_pipeline()
    expected = _phi(nlp(synthetic_note))
    nlp.to_disk(tmp_path / "pipe")
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'pipe')!r})\n"
        "text = sys.stdin.read()\n"
        "doc = nlp(text)\n"
        "assert 'alia_clin' not in sys.argv\n"
        "print(json.dumps([[s.start_char, s.end_char, s.label_] for s in doc.spans['phi']]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], input=synthetic_note, capture_output=True, text=True, check=True
    )
    assert [tuple(x) for x in json.loads(out.stdout)] == expected
    assert expected  # the check above compares something


def test_shipped_default_model_loads_without_import(synthetic_note: str) -> None:
    path = alia_clin.default_model_path()
    if path is None:
        pytest.skip("no embedded default model in this checkout")
    nlp = spacy.load(path)
    assert "alia_deid" in nlp.pipe_names
    assert _phi(nlp(synthetic_note)) == _phi(alia_clin.build_rules_pipeline()(synthetic_note))


class _Broken:
    """A source that fails on every batch."""

    def predict(self, docs: list[spacy.tokens.Doc]) -> list[list[PhiMatch]]:
        raise RuntimeError("broken source")


def test_error_handler_receives_failed_batch() -> None:
    nlp = alia_clin.build_rules_pipeline()
    nlp.get_pipe("alia_deid").add_source("broken", _Broken())
    seen: list[tuple[str, int]] = []
    nlp.set_error_handler(lambda name, proc, docs, exc: seen.append((name, len(docs))))
    docs = list(nlp.pipe(["Nota uno.", "Nota dos."], batch_size=2))
    assert len(docs) == 2
    assert seen == [("alia_deid", 2)]
    with pytest.raises(RuntimeError):
        alia_clin.build_rules_pipeline().get_pipe("alia_deid").get_error_handler()(
            "alia_deid", None, [], RuntimeError("x")
        )


class _ClinicalGuesses:
    """A stand-in model layer that takes the first word (clinical) for a relative."""

    def predict(self, docs: list[spacy.tokens.Doc]) -> list[list[PhiMatch]]:
        return [[PhiMatch(0, 4, "FAMILIARES_SUJETO_ASISTENCIA", 0.9, "model")] for _ in docs]


@pytest.mark.parametrize("checks", [True, False])
def test_clinical_word_and_eponym_checks_in_the_stage(checks: bool, tmp_path: Path) -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe(
        "alia_deid",
        config={"model_clinical_words": checks, "clinical_eponyms": checks, "reading_values": checks},
    )
    nlp.initialize()
    nlp.get_pipe("alia_deid").add_source("model", _ClinicalGuesses())
    text = "Vena cava inferior dilatada. Clase funcional II de la New York Heart Association."
    phi = {text[s:e] for s, e, _ in _phi(nlp(text))}
    assert ("Vena" in phi) is not checks
    assert any("New York" in p for p in phi) is not checks
    nlp.to_disk(tmp_path / "p")
    cfg = spacy.load(tmp_path / "p").get_pipe("alia_deid").cfg
    assert cfg["model_clinical_words"] is checks and cfg["clinical_eponyms"] is checks
    assert cfg["reading_values"] is checks

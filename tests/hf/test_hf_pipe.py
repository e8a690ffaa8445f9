"""The ``alia_hf_risk`` stage: outputs, negation, context, settings, round-trip, aggregation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

import alia_clin
from alia_clin.errors import AliaClinError
from alia_clin.hf.aggregate import aggregate_patient
from alia_clin.pipeline.hf_risk import HfRiskComponent

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / "models" / "alia-clin-rules" / "alia_hf_risk"

POSITIVE = (
    "Varón de 82 años con HTA, fibrilación auricular y enfermedad renal crónica.\n"
    "Refiere ortopnea y disnea de mínimos esfuerzos. Crepitantes bibasales, ingurgitación yugular "
    "y edemas maleolares. NT-proBNP 3.200 pg/ml. FEVI 30 %. Se inicia furosemida.\n"
)
NEGATED = (
    "Varón de 82 años con HTA, fibrilación auricular y enfermedad renal crónica.\n"
    "Niega ortopnea y disnea de mínimos esfuerzos. Sin crepitantes bibasales, sin ingurgitación yugular "
    "ni edemas maleolares.\n"
)
BASE = "Varón de 82 años con HTA, fibrilación auricular y enfermedad renal crónica.\n"


def _build(setting: str = "explicit") -> Language:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": alia_clin.TOKENIZER}}})
    for name in ("alia_sections", "alia_measurements", "alia_context"):
        nlp.add_pipe(name)
    nlp.add_pipe("alia_hf_risk", config={"setting": setting})
    nlp.initialize()  # alia_hf_risk is initialized below (its models come from a folder)
    return nlp


@pytest.fixture(scope="module")
def nlp() -> Language:
    pytest.importorskip("sklearn")
    if not MODEL_DIR.is_dir():
        pytest.skip("shipped heart-failure model not found")
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": alia_clin.TOKENIZER}}})
    for name in ("alia_sections", "alia_measurements", "alia_context"):
        nlp.add_pipe(name)
    pipe = nlp.add_pipe("alia_hf_risk")
    for name in ("alia_sections", "alia_measurements", "alia_context"):
        nlp.get_pipe(name).initialize()
    pipe.initialize(model_dir=str(MODEL_DIR))
    return nlp


def test_uninitialized_pipe_raises() -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_hf_risk")
    with pytest.raises(AliaClinError) as err:
        nlp("Texto.")
    assert err.value.code == "E001"


def test_bad_config_is_refused() -> None:
    nlp = spacy.blank("es")
    with pytest.raises(AliaClinError):
        nlp.add_pipe("alia_hf_risk", config={"setting": "late"})
    with pytest.raises(AliaClinError):
        nlp.add_pipe("alia_hf_risk", name="x", config={"thresholds": {"moderate": 0.8, "high": 0.5}})


def test_outputs_follow_the_contract(nlp: Language) -> None:
    doc = nlp(POSITIVE)
    p = doc.cats["HEART_FAILURE"]
    risk = doc._.hf_risk
    assert 0.0 <= p <= 1.0 and risk["probability"] == p
    assert risk["level"] in ("low", "moderate", "high") and risk["setting"] == "auto"
    # no written diagnosis: the shipped "auto" setting scores the note with the early model
    assert risk["applied"] == "early"
    assert set(risk["thresholds"]) == {"moderate", "high"}
    assert risk["model"].startswith("alia_hf_risk/early/") and risk["version"]
    ev = doc._.hf_evidence
    assert ev and all(
        set(e)
        >= {"criterion", "group", "start", "end", "assertion", "value", "unit", "contribution", "codings"}
        for e in ev
    )
    contribs = [e["contribution"] for e in ev]
    assert contribs == sorted(contribs, reverse=True)
    for e in ev:
        if e["start"] is not None:
            assert 0 <= e["start"] < e["end"] <= len(POSITIVE)
    crackles = next(e for e in ev if e["criterion"] == "crackles")
    assert POSITIVE[crackles["start"] : crackles["end"]] == "Crepitantes bibasales"
    assert any(
        c["system"] == "http://snomed.info/sct" and c["code"] == "48409008" for c in crackles["codings"]
    )
    peptide = next(e for e in ev if e["criterion"] == "nt_probnp_elevated")
    assert peptide["value"] == 3200.0 and peptide["unit"] == "pg/mL"
    assert any(c["system"] == "http://loinc.org" and c["code"] == "33762-6" for c in peptide["codings"])
    json.dumps(ev)  # JSON-able


def test_negated_findings_do_not_raise_the_risk(nlp: Language) -> None:
    pos, neg, base = nlp(POSITIVE), nlp(NEGATED), nlp(BASE)
    assert neg._.hf_risk["logit"]["evidence"] == pytest.approx(base._.hf_risk["logit"]["evidence"])
    negated = [e for e in neg._.hf_evidence if e["assertion"] == "negated"]
    assert {e["criterion"] for e in negated} >= {"pnd_orthopnea", "crackles", "jvd", "ankle_edema"}
    assert all(e["contribution"] == 0.0 for e in negated)
    assert pos.cats["HEART_FAILURE"] > neg.cats["HEART_FAILURE"]


def test_structured_context_raises_the_estimate(nlp: Language) -> None:
    text = "Paciente en control por disnea de esfuerzo."
    pipe = nlp.get_pipe("alia_hf_risk")
    old = pipe.cfg["setting"]
    pipe.cfg["setting"] = "early"  # the primary-care setting, where no diagnosis is written yet
    try:
        plain = nlp(text)
        doc = nlp.make_doc(text)
        doc._.hf_context = {
            "age": 84,
            "sex": "male",
            "observations": [
                {"code": "33762-6", "value": 2500, "unit": "pg/mL"},
                {"code": "10230-1", "value": 25, "unit": "%"},
            ],
        }
        for _, proc in nlp.pipeline:
            doc = proc(doc)
    finally:
        pipe.cfg["setting"] = old
    assert doc.cats["HEART_FAILURE"] > plain.cats["HEART_FAILURE"]
    ctx = [e for e in doc._.hf_evidence if e["source"] == "context"]
    assert {e["criterion"] for e in ctx} == {"age", "male_sex", "nt_probnp_elevated", "lvef_reduced"}
    assert all(e["start"] is None and e["end"] is None for e in ctx)
    lvef = next(e for e in ctx if e["criterion"] == "lvef_reduced")
    assert lvef["value"] == 25 and any(c["code"] == "10230-1" for c in lvef["codings"])


def test_early_setting_ignores_explicit_mentions(nlp: Language) -> None:
    text = "Mujer de 75 años. Diagnóstico: insuficiencia cardiaca con FEVI reducida. Sigue igual."
    explicit = nlp(text)
    assert explicit._.hf_risk["applied"] == "explicit"
    assert any(e["criterion"] == "hf_diagnosis" for e in explicit._.hf_evidence)
    pipe = nlp.get_pipe("alia_hf_risk")
    old = pipe.cfg["setting"]
    pipe.cfg["setting"] = "early"
    try:
        early = nlp(text)
        masked = nlp("Mujer de 75 años. Diagnóstico: " + " " * 40 + ". Sigue igual.")
    finally:
        pipe.cfg["setting"] = old
    assert early._.hf_risk["setting"] == "early"
    assert not any(e["criterion"] in ("hf_diagnosis", "lvef_reduced") for e in early._.hf_evidence)
    assert early._.hf_risk["logit"]["evidence"] == pytest.approx(masked._.hf_risk["logit"]["evidence"])
    assert early.cats["HEART_FAILURE"] < explicit.cats["HEART_FAILURE"]


def _score(nlp: Language, text: str, setting: str) -> Doc:
    pipe = nlp.get_pipe("alia_hf_risk")
    old = pipe.cfg["setting"]
    pipe.cfg["setting"] = setting
    try:
        return nlp(text)
    finally:
        pipe.cfg["setting"] = old


def test_auto_setting_routes_by_asserted_diagnosis(nlp: Language) -> None:
    diagnosed = "Mujer de 75 años con insuficiencia cardiaca. FEVI 30 %."
    auto, explicit = _score(nlp, diagnosed, "auto"), _score(nlp, diagnosed, "explicit")
    assert auto._.hf_risk["applied"] == "explicit" and auto._.hf_risk["setting"] == "auto"
    assert auto.cats["HEART_FAILURE"] == pytest.approx(explicit.cats["HEART_FAILURE"])
    assert auto._.hf_evidence == explicit._.hf_evidence
    # a negated or family diagnosis is not a written diagnosis: early detection scores it
    for text in (
        "Mujer de 75 años. Se descarta insuficiencia cardiaca. Refiere ortopnea.",
        "Mujer de 75 años. Madre con insuficiencia cardiaca. Refiere ortopnea.",
    ):
        routed, early = _score(nlp, text, "auto"), _score(nlp, text, "early")
        assert routed._.hf_risk["applied"] == "early"
        assert routed.cats["HEART_FAILURE"] == pytest.approx(early.cats["HEART_FAILURE"])
    # the clinical picture without the word: auto follows the early model, above the explicit one
    picture = _score(nlp, POSITIVE, "auto")
    assert picture.cats["HEART_FAILURE"] > _score(nlp, POSITIVE, "explicit").cats["HEART_FAILURE"]


def test_patient_aggregation(nlp: Language) -> None:
    notes = []
    for i, text in enumerate(
        ["Varón de 80 años con ortopnea.", "Crepitantes bibasales y edemas maleolares."]
    ):
        doc = nlp.make_doc(text)
        doc._.note_id, doc._.patient_id, doc._.note_date = f"n{i}", "p1", f"2024-0{i + 1}-01"
        for _, proc in nlp.pipeline:
            doc = proc(doc)
        notes.append(doc)
    pipe = nlp.get_pipe("alia_hf_risk")
    pooled = aggregate_patient(notes, pipe)
    assert pooled["method"] == "pooled-evidence" and pooled["patient_id"] == "p1"
    assert pooled["probability"] > max(d.cats["HEART_FAILURE"] for d in notes)
    assert {e["note_id"] for e in pooled["evidence"]} == {"n0", "n1"}
    simple = aggregate_patient(notes)
    assert simple["method"] == "max"
    assert simple["probability"] == max(d.cats["HEART_FAILURE"] for d in notes)
    other = nlp("Texto.")
    other._.patient_id = "p2"
    with pytest.raises(AliaClinError):
        aggregate_patient([*notes, other])
    with pytest.raises(AliaClinError):
        aggregate_patient([nlp.make_doc("Sin puntuar.")])


def test_to_disk_and_spacy_load_give_the_same_output(nlp: Language, tmp_path: Path) -> None:
    before = nlp(POSITIVE)
    nlp.to_disk(tmp_path / "p")
    assert (tmp_path / "p" / "alia_hf_risk" / "explicit.json").is_file()
    again = spacy.load(tmp_path / "p")(POSITIVE)
    assert again.cats == before.cats and again._.hf_evidence == before._.hf_evidence
    code = (
        "import json, spacy, sys; nlp = spacy.load(sys.argv[1]); d = nlp(sys.argv[2]); "
        "print(json.dumps([d.cats['HEART_FAILURE'], d._.hf_evidence]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "p"), POSITIVE],
        capture_output=True,
        text=True,
        check=True,
    )
    p, ev = json.loads(out.stdout)
    assert p == before.cats["HEART_FAILURE"] and ev == before._.hf_evidence
    data = nlp.get_pipe("alia_hf_risk").to_bytes()
    fresh = HfRiskComponent(
        nlp, "copy", setting="explicit", thresholds={"moderate": 0.2, "high": 0.5}, language="es", max_scope=5
    ).from_bytes(data)
    assert fresh.active_model().to_dict() == nlp.get_pipe("alia_hf_risk").active_model().to_dict()


def test_default_pipeline_runs_the_stage() -> None:
    if not MODEL_DIR.is_dir():
        pytest.skip("shipped heart-failure model not found")
    nlp = alia_clin.load()
    assert nlp.pipe_names[-1] == "alia_hf_risk"
    doc = nlp(POSITIVE)
    assert "HEART_FAILURE" in doc.cats and doc._.hf_risk["level"] in ("low", "moderate", "high")

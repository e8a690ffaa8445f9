"""The alia_ner stage (alone on the encoder) and the model layer of alia_deid (PHI head + rules)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import torch
from spacy.language import Language

import alia_clin.pipeline.ner  # noqa: F401  (registers the factory)
from alia_clin import TOKENIZER
from alia_clin.encoder.heads import WordTagger
from alia_clin.errors import AliaClinError
from alia_clin.pipeline.encoder import get_encoded

from ..encoder.tiny import HIDDEN, tiny_model_dir

TEXT = "Paciente Marta Ibarra con disnea.\nDNI: 12345678Z.\nFEVI 35 %.\n"
NER_LABELS = ["ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO"]


def _biased_head(labels: list[str], label: str, *, seed: int = 0) -> WordTagger:
    """A head that tags every word ``I-<label>`` with probability ≈ 0.97 (one span per line)."""
    torch.manual_seed(seed)
    head = WordTagger(HIDDEN, labels, scheme="BIO")
    with torch.no_grad():
        head.classifier.weight.zero_()
        head.classifier.bias.zero_()
        head.classifier.bias[head.tags.index(f"I-{label}")] = 6.0
    return head.eval()


def _random_head(labels: list[str], seed: int = 1) -> WordTagger:
    torch.manual_seed(seed)
    head = WordTagger(HIDDEN, labels, scheme="BIO")
    with torch.no_grad():
        head.classifier.weight.mul_(40.0)
    return head.eval()


def _nlp(*pipes: str) -> Language:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_encoder", config={"max_length": 48, "stride": 12})
    for pipe in pipes:
        # these tests compare doc.ents with the head's own spans: no rewriting of random spans
        raw = {"repair_edges": False, "merge_test_results": False}
        nlp.add_pipe(pipe, config=raw if pipe == "alia_ner" else {})
    nlp.get_pipe("alia_encoder").initialize(model=str(tiny_model_dir("xlm-roberta")))  # type: ignore[attr-defined]
    return nlp


def _ents(doc: spacy.tokens.Doc) -> list[tuple[int, int, str]]:
    return [(e.start_char, e.end_char, e.label_) for e in doc.ents]


def test_ner_alone_writes_head_spans_as_exact_ents() -> None:
    nlp = _nlp("alia_ner")
    head = _random_head(NER_LABELS)
    nlp.get_pipe("alia_ner").set_head(head)  # type: ignore[attr-defined]
    doc = nlp(TEXT)
    expected = [(s, e, lab) for s, e, lab, _ in head.predict(get_encoded(doc), text=TEXT)]
    assert expected and _ents(doc) == expected
    assert {lab for _, _, lab in _ents(doc)} <= set(NER_LABELS)
    assert doc.text == TEXT


def test_ner_uninitialized_raises_e001() -> None:
    nlp = _nlp("alia_ner")
    with pytest.raises(AliaClinError) as err:
        nlp(TEXT)
    assert err.value.code == "E001"


def test_ner_without_encoder_raises_e104() -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_ner").set_head(_random_head(NER_LABELS))  # type: ignore[attr-defined]
    with pytest.raises(AliaClinError) as err:
        nlp(TEXT)
    assert err.value.code == "E104"


def test_ner_initialize_from_head_folder_and_bytes_roundtrip(tmp_path: Path) -> None:
    head = _random_head(NER_LABELS)
    head.save(tmp_path / "head")
    nlp = _nlp("alia_ner")
    nlp.get_pipe("alia_ner").initialize(head=str(tmp_path / "head"))  # type: ignore[attr-defined]
    expected = _ents(nlp(TEXT))
    data = nlp.get_pipe("alia_ner").to_bytes()  # type: ignore[attr-defined]
    other = _nlp("alia_ner")
    other.get_pipe("alia_ner").from_bytes(data)  # type: ignore[attr-defined]
    assert _ents(other(TEXT)) == expected


def test_ner_disk_roundtrip_in_fresh_process(tmp_path: Path) -> None:
    nlp = _nlp("alia_ner")
    nlp.get_pipe("alia_ner").set_head(_random_head(NER_LABELS))  # type: ignore[attr-defined]
    nlp.to_disk(tmp_path / "pipe")
    expected = [list(x) for x in _ents(spacy.load(tmp_path / "pipe")(TEXT))]
    assert expected
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'pipe')!r})\n"
        "doc = nlp(sys.stdin.read())\n"
        "print(json.dumps([[e.start_char, e.end_char, e.label_] for e in doc.ents]))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script],
        input=TEXT,
        capture_output=True,
        text=True,
        check=True,
        encoding="utf-8",
    )
    assert json.loads(res.stdout.strip().splitlines()[-1]) == expected


def test_ner_keeps_existing_ents_when_asked() -> None:
    nlp = _nlp()
    nlp.add_pipe("alia_ner", config={"overwrite_ents": False})
    nlp.get_pipe("alia_ner").set_head(_biased_head(NER_LABELS, "SINTOMA"))  # type: ignore[attr-defined]
    doc = nlp.make_doc(TEXT)
    start = TEXT.index("FEVI")
    fevi = doc.char_span(start, start + 4, label="MEDIDA")
    assert fevi is not None
    doc.ents = [fevi]
    for _, proc in nlp.pipeline:
        doc = proc(doc)
    ents = _ents(doc)
    assert (start, start + 4, "MEDIDA") in ents
    assert ("SINTOMA" in {lab for _, _, lab in ents}) and len(ents) == 3  # two other lines


def test_deid_with_head_merges_model_and_rules() -> None:
    nlp = _nlp("alia_deid")
    deid = nlp.get_pipe("alia_deid")
    deid.initialize()  # type: ignore[attr-defined]
    deid.set_head(_biased_head(["NOMBRE_SUJETO_ASISTENCIA", "FECHAS"], "NOMBRE_SUJETO_ASISTENCIA"))  # type: ignore[attr-defined]
    doc = nlp(TEXT)
    group = doc.spans["phi"]
    found = {
        (TEXT[s.start_char : s.end_char], s.label_, src)
        for s, src in zip(group, group.attrs["sources"], strict=True)
    }
    # line 1: the model's span; line 2: the checksum-validated DNI (score 1.0) beats the model's line span
    assert ("Paciente Marta Ibarra con disnea.", "NOMBRE_SUJETO_ASISTENCIA", "model") in found
    assert ("12345678Z", "ID_SUJETO_ASISTENCIA", "DniRecognizer") in found
    assert not any(TEXT[s.start_char : s.end_char].startswith("DNI") for s in group)


def _phi(nlp: Language) -> list[tuple[int, int, str]]:
    doc = nlp(TEXT)
    return [(s.start_char, s.end_char, s.label_) for s in doc.spans["phi"]]


def test_deid_head_roundtrip_disk_and_bytes(tmp_path: Path) -> None:
    nlp = _nlp("alia_deid")
    deid = nlp.get_pipe("alia_deid")
    deid.initialize()  # type: ignore[attr-defined]
    deid.set_head(_random_head(["NOMBRE_SUJETO_ASISTENCIA", "FECHAS", "TERRITORIO"]))  # type: ignore[attr-defined]
    expected = _phi(nlp)
    assert expected
    nlp.to_disk(tmp_path / "p")
    assert (tmp_path / "p" / "alia_deid" / "phi_head" / "head.json").is_file()
    again = spacy.load(tmp_path / "p")
    assert _phi(again) == expected
    other = _nlp("alia_deid")
    other.get_pipe("alia_deid").from_bytes(deid.to_bytes())  # type: ignore[attr-defined]
    assert _phi(other) == expected


def test_deid_rules_only_needs_no_encoder(tmp_path: Path) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_deid")
    nlp.initialize()
    doc = nlp(TEXT)
    assert set(doc.spans["phi"].attrs["sources"]) == {"DniRecognizer"}
    nlp.to_disk(tmp_path / "r")
    assert not (tmp_path / "r" / "alia_deid" / "phi_head").exists()
    assert spacy.load(tmp_path / "r").get_pipe("alia_deid").head is None  # type: ignore[attr-defined]


def test_ner_with_an_ensemble_head_round_trips(tmp_path: Path) -> None:
    """An ensemble head (mean of two heads) runs in the stage and survives to_disk/spacy.load
    and to_bytes/from_bytes."""
    from alia_clin.encoder.ensemble import TaggerEnsemble

    nlp = _nlp("alia_ner")
    ens = TaggerEnsemble([_random_head(NER_LABELS, seed=1), _random_head(NER_LABELS, seed=2)])
    nlp.get_pipe("alia_ner").set_head(ens)  # type: ignore[attr-defined]
    expected = _ents(nlp(TEXT))
    encoded = get_encoded(nlp(TEXT), reader="test")
    assert expected == [(s, e, lab) for s, e, lab, _ in ens.predict(encoded, text=TEXT)]
    nlp.to_disk(tmp_path / "pipe")
    assert (tmp_path / "pipe" / "alia_ner" / "head" / "ensemble.json").is_file()
    loaded = spacy.load(tmp_path / "pipe")
    assert isinstance(loaded.get_pipe("alia_ner").head, TaggerEnsemble)  # type: ignore[attr-defined]
    assert _ents(loaded(TEXT)) == expected
    other = _nlp("alia_ner")
    other.get_pipe("alia_ner").from_bytes(nlp.get_pipe("alia_ner").to_bytes())  # type: ignore[attr-defined]
    assert _ents(other(TEXT)) == expected


def test_saving_over_an_ensemble_leaves_no_stale_head(tmp_path: Path) -> None:
    """to_disk into a folder that held an ensemble head: the single head replaces it, and a pipe
    without a head leaves no head folder behind."""
    from alia_clin.encoder.ensemble import TaggerEnsemble

    nlp = _nlp("alia_ner")
    pipe = nlp.get_pipe("alia_ner")
    pipe.set_head(TaggerEnsemble([_random_head(NER_LABELS, 1), _random_head(NER_LABELS, 2)]))  # type: ignore[attr-defined]
    pipe.to_disk(tmp_path / "ner")
    single = _random_head(NER_LABELS, 3)
    pipe.set_head(single)  # type: ignore[attr-defined]
    pipe.to_disk(tmp_path / "ner")
    assert not (tmp_path / "ner" / "head" / "ensemble.json").exists()
    other = _nlp("alia_ner").get_pipe("alia_ner")
    other.from_disk(tmp_path / "ner")
    assert isinstance(other.head, WordTagger)  # type: ignore[attr-defined]
    pipe._head = None  # type: ignore[attr-defined]
    pipe.to_disk(tmp_path / "ner")
    assert not (tmp_path / "ner" / "head").exists()


@pytest.mark.parametrize("merge", [True, False])
def test_ner_merges_a_test_and_its_result_when_configured(merge: bool) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    ner = nlp.add_pipe("alia_ner", config={"merge_test_results": merge, "min_score": 0.5})
    text = "Hemocultivos negativos. Fiebre."
    doc = nlp.make_doc(text)
    spans = [(0, 12, "PROCEDIMIENTO", 0.9), (13, 22, "SINTOMA", 0.8), (24, 30, "SINTOMA", 0.9)]
    ner._set_annotations(doc, spans)  # type: ignore[attr-defined]
    nested = [(s.text, s.label_) for s in doc.spans.get("nested_entities", [])]
    if merge:
        ents = [(e.text, e.label_) for e in doc.ents]
        assert ents == [("Hemocultivos negativos", "SINTOMA"), ("Fiebre", "SINTOMA")]
        assert nested == [("Hemocultivos", "PROCEDIMIENTO")]
    else:
        assert [e.label_ for e in doc.ents] == ["PROCEDIMIENTO", "SINTOMA", "SINTOMA"]
        assert nested == []


@pytest.mark.parametrize("repair", [True, False])
def test_ner_repairs_function_word_edges_when_configured(repair: bool) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    ner = nlp.add_pipe("alia_ner", config={"repair_edges": repair, "min_score": 0.5})
    text = "VI no dilatado, con hipertrofia. Tratamiento con"
    doc = nlp.make_doc(text)
    spans = [(0, 14, "SINTOMA", 0.9), (14, 31, "ENFERMEDAD", 0.8), (33, 48, "PROCEDIMIENTO", 0.9)]
    ner._set_annotations(doc, spans)  # type: ignore[attr-defined]
    ents = [(e.text, e.label_) for e in doc.ents]
    nested = [(s.text, s.label_) for s in doc.spans.get("nested_entities", [])]
    if repair:
        assert ents == [("VI no dilatado, con hipertrofia", "ENFERMEDAD"), ("Tratamiento", "PROCEDIMIENTO")]
        assert nested == [("VI no dilatado", "SINTOMA")]
    else:
        assert ents == [
            ("VI no dilatado", "SINTOMA"),
            (", con hipertrofia", "ENFERMEDAD"),
            ("Tratamiento con", "PROCEDIMIENTO"),
        ]
        assert nested == []


@pytest.mark.parametrize("lab_values", [True, False])
def test_ner_drops_drugs_read_as_lab_values_when_configured(lab_values: bool) -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    ner = nlp.add_pipe("alia_ner", config={"lab_values": lab_values, "min_score": 0.5})
    text = "Digoxina 2,4 ng/ml. Se retira digoxina."
    doc = nlp.make_doc(text)
    ner._set_annotations(doc, [(0, 8, "FARMACO", 0.9), (30, 38, "FARMACO", 0.9)])  # type: ignore[attr-defined]
    ents = [e.text for e in doc.ents]
    assert ents == (["digoxina"] if lab_values else ["Digoxina", "digoxina"])

"""The ``alia_encoder`` spaCy stage: initialize, pipe, shared states, serialization."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

import alia_clin.pipeline.encoder as encoder_module  # registers the factory
from alia_clin.encoder.windows import EncodedNote, split_words
from alia_clin.errors import AliaClinError
from alia_clin.pipeline.encoder import clear_encoded, encoded_case_fold, get_encoded, set_encoded

from .tiny import tiny_model_dir

REPO = Path(__file__).resolve().parents[2]
NOTES = [
    "Paciente: Marta Ibarra Soler. Fecha de ingreso: 03/02/2024.\r\nMujer de 71 años con disnea.",
    "La pacient, dona de 80 anys, va al col·legi 😀.\tFEVI 35 %.",
    "",
    " ".join(["Insuficiencia cardíaca con FEVI 35 %, NT-proBNP 1200 pg/ml."] * 25),
]
#: fp32 (not bf16 = "auto"): these tests compare states across processes and round trips exactly.
CONFIG = {"max_length": 48, "stride": 12, "window_batch_size": 4, "bf16": False}


@Language.component("alia_test_state_reader")
def _state_reader(doc: Doc) -> Doc:
    """A stand-in for a later head: reads the shared states, writes a msgpack-able count."""
    doc.user_data["n_words"] = get_encoded(doc, reader="alia_test_state_reader").n_words
    return doc


def _nlp(arch: str = "roberta", **config: object) -> Language:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_encoder", config={**CONFIG, **config})
    nlp.config["initialize"]["components"]["alia_encoder"] = {"model": str(tiny_model_dir(arch))}
    nlp.initialize()
    return nlp


def _states(nlp: Language, texts: list[str]) -> list[np.ndarray]:
    return [get_encoded(doc).states for doc in nlp.pipe(texts, batch_size=3)]


def test_uninitialized_pipe_raises_e001() -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_encoder")
    with pytest.raises(AliaClinError) as err:
        nlp("Paciente de 71 años.")
    assert err.value.code == "E001"


def test_initialize_needs_a_model() -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_encoder")
    with pytest.raises(AliaClinError) as err:
        nlp.initialize()
    assert err.value.code == "E108"


def test_bad_config_values() -> None:
    nlp = spacy.blank("es")
    for config in ({"pooling": "max"}, {"save_dtype": "int4"}, {"layers": [1, 1]}, {"layers": []}):
        with pytest.raises(AliaClinError) as err:
            nlp.add_pipe("alia_encoder", name=f"enc_{len(nlp.pipe_names)}", config=config)
        assert err.value.code == "E107"


@pytest.mark.parametrize("arch", ["bert", "xlm-roberta", "roberta", "modernbert"])
def test_pipe_sets_states_for_every_word(arch: str) -> None:
    nlp = _nlp(arch)
    nlp.add_pipe("alia_test_state_reader")
    docs = list(nlp.pipe(NOTES, batch_size=2))
    for doc, text in zip(docs, NOTES, strict=True):
        enc = get_encoded(doc)
        assert doc._.alia_states is enc
        assert enc.words == split_words(text)
        assert enc.states.shape == (len(enc.words), 32)
        assert doc.user_data["n_words"] == len(enc.words)
    single = nlp(NOTES[3])
    np.testing.assert_allclose(get_encoded(single).states, get_encoded(docs[3]).states, atol=1e-5)
    pipe = nlp.get_pipe("alia_encoder")
    assert len(pipe.weights_sha256) == 64


def test_states_are_not_serialized_and_die_with_the_doc() -> None:
    nlp = _nlp()
    doc = nlp(NOTES[0])
    assert "alia_states" not in str(doc.user_data)
    copy = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert copy._.alia_states is None
    with pytest.raises(AliaClinError) as err:
        get_encoded(copy, reader="alia_ner")
    assert err.value.code == "E104"
    assert "alia_ner" in str(err.value) and "Marta" not in str(err.value)
    n_before = len(encoder_module._STATES)
    del doc
    gc.collect()
    assert len(encoder_module._STATES) == n_before - 1
    doc2 = nlp(NOTES[1])
    clear_encoded(doc2)
    assert doc2._.alia_states is None
    set_encoded(doc2, EncodedNote(words=[], states=np.zeros((0, 32), dtype=np.float32)))
    assert get_encoded(doc2).n_words == 0


@pytest.mark.parametrize(("save_dtype", "tol"), [("float32", 0.0), ("float16", 1e-3)])
def test_to_disk_spacy_load_round_trip(tmp_path: Path, save_dtype: str, tol: float) -> None:
    nlp = _nlp("xlm-roberta", save_dtype=save_dtype)
    expected = _states(nlp, NOTES)
    nlp.to_disk(tmp_path / "pipe")
    comp = tmp_path / "pipe" / "alia_encoder"
    assert (comp / "model" / "model.safetensors").exists()
    assert (comp / "model" / "tokenizer.json").exists()
    assert not list(comp.rglob("*.bin"))
    nlp2 = spacy.load(tmp_path / "pipe")
    for a, b in zip(expected, _states(nlp2, NOTES), strict=True):
        np.testing.assert_allclose(a, b, atol=tol, rtol=tol)  # fp16 weights
    meta = spacy.util.srsly.read_json(comp / "encoder.json")
    assert meta["weights_sha256"] == nlp2.get_pipe("alia_encoder").weights_sha256
    assert meta["source"] == "model"  # a local path is recorded by its last part only


def test_layers_setting_keeps_several_layers_through_save_and_load(tmp_path: Path) -> None:
    nlp = _nlp("xlm-roberta", layers=[-1, 1])
    states = _states(nlp, NOTES)
    last = _states(_nlp("xlm-roberta"), NOTES)
    for both, one in zip(states, last, strict=True):
        assert both.shape == (one.shape[0], 2 * one.shape[1])
        np.testing.assert_allclose(both[:, : one.shape[1]], one, atol=1e-5)
    nlp.to_disk(tmp_path / "pipe")
    again = spacy.load(tmp_path / "pipe")
    assert again.get_pipe("alia_encoder").settings.layers == (-1, 1)  # type: ignore[attr-defined]
    for a, b in zip(states, _states(again, NOTES), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    with pytest.raises(AliaClinError) as err:  # checked against the model when notes are encoded
        _nlp("xlm-roberta", layers=[9])("Paciente.")
    assert err.value.code == "E107"


def test_round_trip_in_a_fresh_process(tmp_path: Path) -> None:
    nlp = _nlp("modernbert")
    expected = _states(nlp, NOTES)
    nlp.to_disk(tmp_path / "pipe")
    (tmp_path / "notes.json").write_text(json.dumps(NOTES), encoding="utf8")
    script = textwrap.dedent(
        """
        import json, sys
        import numpy as np, spacy
        import alia_clin.pipeline.encoder as enc_mod
        notes = json.loads(open(sys.argv[3], encoding="utf8").read())
        nlp = spacy.load(sys.argv[1])
        np.savez(sys.argv[2], *[enc_mod.get_encoded(d).states for d in nlp.pipe(notes)])
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    args = [str(tmp_path / "pipe"), str(tmp_path / "out.npz"), str(tmp_path / "notes.json")]
    cmd = [sys.executable, "-c", script, *args]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=300)
    got = np.load(tmp_path / "out.npz")
    assert len(got.files) == len(NOTES)
    for i, a in enumerate(expected):
        np.testing.assert_allclose(a, got[f"arr_{i}"], atol=1e-6)  # thread count may differ


def test_to_bytes_from_bytes() -> None:
    nlp = _nlp("bert")
    expected = _states(nlp, NOTES)
    data = nlp.get_pipe("alia_encoder").to_bytes()
    nlp2 = spacy.blank("es")
    nlp2.add_pipe("alia_encoder", config=CONFIG).from_bytes(data)
    for a, b in zip(expected, _states(nlp2, NOTES), strict=True):
        np.testing.assert_array_equal(a, b)


def test_uninitialized_pipe_saves_without_weights(tmp_path: Path) -> None:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_encoder")
    nlp.to_disk(tmp_path / "pipe")
    assert not (tmp_path / "pipe" / "alia_encoder" / "model").exists()
    nlp2 = spacy.load(tmp_path / "pipe")
    assert not nlp2.get_pipe("alia_encoder").is_initialized
    with pytest.raises(AliaClinError) as err:
        nlp2("hola")
    assert err.value.code == "E001"


def test_errors_go_through_the_error_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    nlp = _nlp("bert")
    seen: list[tuple[str, int, str]] = []

    def boom(*args: object, **kwargs: object) -> list[EncodedNote]:
        raise RuntimeError("boom")

    monkeypatch.setattr(encoder_module, "encode_notes", boom)
    pipe = nlp.get_pipe("alia_encoder")
    pipe.set_error_handler(lambda name, proc, docs, exc: seen.append((name, len(docs), str(exc))))
    docs = list(nlp.pipe(NOTES[:2]))
    assert len(docs) == 2 and seen == [("alia_encoder", 2, "boom")]
    assert docs[0]._.alia_states is None


def test_notes_in_capitals_are_encoded_as_lower_case_with_the_same_offsets() -> None:
    note = "MUJER DE 71 AÑOS CON DISNEA Y EDEMAS. FEVI 35 %. INICIA FUROSEMIDA."
    nlp = _nlp()
    folded, lower = _states(nlp, [note, note.lower()])
    np.testing.assert_allclose(folded, lower, atol=1e-6)
    doc = nlp(note)
    assert get_encoded(doc).words == split_words(note)
    assert encoded_case_fold(doc) == "capitals" and encoded_case_fold(spacy.blank("es")(note)) is None
    raw = _nlp(case_fold="none")
    assert encoded_case_fold(raw(note)) == "none"  # what alia_deid reads: the model saw capitals
    (kept,) = _states(raw, [note])
    assert not np.allclose(kept, lower, atol=1e-3)
    with pytest.raises(AliaClinError) as err:
        spacy.blank("es").add_pipe("alia_encoder", config={"case_fold": "upper"})
    assert err.value.code == "E107"

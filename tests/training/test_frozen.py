"""Retraining a stage's head on frozen encoder states (``alia-clin models retrain-head``)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import spacy
from typer.testing import CliRunner

from alia_clin.cli.main import app
from alia_clin.errors import AliaClinValueError
from alia_clin.training.frozen import (
    FrozenTaggerConfig,
    head_metrics_file,
    retrain_head,
    word_chunks,
)
from alia_clin.training.trainer import train

from .synthetic import make_corpus_tree
from .test_trainer import TEXT, _config

SMALL = FrozenTaggerConfig(epochs=3, patience=1, chunk_words=16, rnn=8, mlp_hidden=8, batch_size=4)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("frozen")
    corpora = make_corpus_tree(root / "corpora")
    out = root / "models" / "tiny"
    train(_config(corpora, max_steps=2, eval_every_steps=2), out)
    return out, corpora


def test_chunks_overlap_by_half_and_cover_every_word() -> None:
    from types import SimpleNamespace

    notes = [SimpleNamespace(encoded=SimpleNamespace(n_words=n)) for n in (40, 16, 0, 5)]
    items = word_chunks(notes, 16)  # type: ignore[arg-type]
    assert items == [(0, 0, 16), (0, 8, 24), (0, 16, 32), (0, 24, 40), (1, 0, 16), (3, 0, 5)]


def test_case_and_accent_copies_add_training_notes(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, corpora = trained
    plain = retrain_head(model, tmp_path / "plain", corpora, config=replace(SMALL, epochs=1))
    cfg = replace(SMALL, epochs=1, case_copies=True)
    copies = retrain_head(model, tmp_path / "copies", corpora, config=cfg)
    assert copies["train_notes"] == 2 * plain["train_notes"] > 0
    assert copies["config"]["case_copies"] is True and plain["config"]["case_copies"] is False
    both = retrain_head(
        model, tmp_path / "both", corpora, config=replace(cfg, accent_copies=True)
    )  # one copy of each kind per original note, none of a copy
    assert both["train_notes"] == 3 * plain["train_notes"]
    assert both["config"]["accent_copies"] is True and plain["config"]["accent_copies"] is False


def test_retrained_ner_head_replaces_only_the_head(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, corpora = trained
    out = tmp_path / "retrained"
    report = retrain_head(model, out, corpora, config=SMALL, min_score=0.4, cache_dir=tmp_path / "cache")
    assert report["component"] == "alia_ner" and 1 <= report["best_epoch"] <= 3
    assert [row["epoch"] for row in report["epochs"]][:1] == [1]
    assert (
        report["dev_notes"]
        == json.loads((model / "training_metrics.json").read_text())["data"]["tasks"]["ner"]["dev_docs"]
    )
    assert set(report["dev"]["new_head"]) >= {"min_score=0.0", "min_score=0.5"}
    assert "f1" in report["dev"]["previous_head"]["strict"]
    saved = json.loads((out / head_metrics_file("alia_ner")).read_text())
    assert saved["best_epoch"] == report["best_epoch"]
    # the encoder is copied byte for byte; only the ner head changed
    for enc_file in (model / "alia_encoder").rglob("*"):
        if enc_file.is_file():
            assert (out / enc_file.relative_to(model)).read_bytes() == enc_file.read_bytes()
    assert (out / "alia_deid").is_dir()
    head_cfg = json.loads((out / "alia_ner" / "head" / "head.json").read_text())
    assert head_cfg["rnn"] == 8 and head_cfg["mlp_hidden"] == 8
    nlp = spacy.load(out)
    ner = nlp.get_pipe("alia_ner")
    assert ner.head.is_sequential and ner.cfg["min_score"] == 0.4  # type: ignore[attr-defined]
    assert nlp.config["components"]["alia_ner"]["min_score"] == 0.4
    doc = nlp(TEXT)
    assert all(e.label_ in {"ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO"} for e in doc.ents)
    assert doc.text == TEXT
    # the same seed and cached states give the same head
    again = retrain_head(model, tmp_path / "again", corpora, config=SMALL, cache_dir=tmp_path / "cache")
    assert again["epochs"] == [
        {**r, "seconds": again["epochs"][i]["seconds"]} for i, r in enumerate(report["epochs"])
    ]
    assert (tmp_path / "again" / "alia_ner" / "head" / "head.safetensors").read_bytes() == (
        out / "alia_ner" / "head" / "head.safetensors"
    ).read_bytes()


def test_deid_head_and_cli(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, corpora = trained
    out = tmp_path / "deid"
    res = CliRunner().invoke(
        app,
        [
            "models", "retrain-head", str(model), "--out", str(out), "--component", "alia_deid",
            "--corpora", str(corpora), "--rnn", "4", "--mlp-hidden", "0", "--epochs", "1",
            "--decoding", "viterbi", "--case-copies", "--accent-copies", "-q",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["component"] == "alia_deid" and report["config"]["decoding"] == "viterbi"
    assert report["config"]["case_copies"] is True and report["config"]["accent_copies"] is True
    assert (out / head_metrics_file("alia_deid")).is_file()
    deid = spacy.load(out).get_pipe("alia_deid")
    assert deid.head.is_sequential  # type: ignore[attr-defined]
    assert deid.head.decoding == "viterbi"  # type: ignore[attr-defined]
    args = ["models", "retrain-head", str(model), "--out", str(tmp_path / "bad"), "--decoding", "beam", "-q"]
    bad = CliRunner().invoke(app, args)
    assert bad.exit_code == 2 and "E130" in bad.output and not (tmp_path / "bad").exists()


def test_errors(trained: tuple[Path, Path], tmp_path: Path) -> None:
    model, corpora = trained
    cases = [
        (dict(model_dir=tmp_path / "missing", out_dir=tmp_path / "o1"), "E010"),
        (dict(model_dir=model, out_dir=model), "E137"),
        (dict(model_dir=model, out_dir=tmp_path / "o2", component="alia_terms"), "E130"),
        (dict(model_dir=model, out_dir=tmp_path / "o3", sources=["meddocan/train"]), "E130"),
        (dict(model_dir=model, out_dir=tmp_path / "o4", component="alia_deid", min_score=0.5), "E130"),
    ]
    for kwargs, code in cases:
        with pytest.raises(AliaClinValueError) as err:
            retrain_head(corpora=corpora, config=SMALL, **kwargs)  # type: ignore[arg-type]
        assert err.value.code == code, kwargs
    for bad in (dict(epochs=0), dict(decoding="beam"), dict(scheme="IO", decoding="viterbi")):
        with pytest.raises(AliaClinValueError) as err:
            FrozenTaggerConfig(**bad).validate()  # type: ignore[arg-type]
        assert err.value.code == "E130" and "bad" in str(err.value), bad
    assert not (tmp_path / "o2").exists() and not (tmp_path / "o3").exists()


def test_head_on_two_layers_sets_the_encoder_to_keep_them(trained: tuple[Path, Path], tmp_path: Path) -> None:
    """``layers=(-1, 1)``: the new entity head reads the last layer and layer 1; the copied
    pipeline's encoder keeps both, and the PHI head (last layer) reads its own columns."""
    model, corpora = trained
    out = tmp_path / "two_layers"
    report = retrain_head(model, out, corpora, config=replace(SMALL, layers=(-1, 1)))
    assert list(report["config"]["layers"]) == [-1, 1]
    assert "f1" in report["dev"]["previous_head"]["strict"]  # the old head reads the -1 columns
    head_cfg = json.loads((out / "alia_ner" / "head" / "head.json").read_text())
    assert head_cfg["layers"] == [-1, 1] and head_cfg["hidden_size"] == 2 * 32
    nlp = spacy.load(out)
    assert nlp.config["components"]["alia_encoder"]["layers"] == [-1, 1]
    assert json.loads((out / "alia_encoder" / "encoder.json").read_text())["cfg"]["layers"] == [-1, 1]
    assert nlp.get_pipe("alia_encoder").settings.layers == (-1, 1)  # type: ignore[attr-defined]
    doc = nlp(TEXT)
    assert doc.text == TEXT and doc._.alia_states.layers == (-1, 1)
    assert doc._.alia_states.hidden_size == 64
    # the PHI head, trained on the last layer, gives what it gave in the one-layer pipeline
    old_nlp = spacy.load(model)
    before = old_nlp(TEXT)
    phi_head = nlp.get_pipe("alia_deid").head  # type: ignore[attr-defined]
    old_states = before._.alia_states
    np.testing.assert_allclose(doc._.alia_states.states[:, :32], old_states.states, atol=1e-5)
    assert phi_head.predict(doc._.alia_states) == phi_head.predict(old_states)
    assert [(s.start_char, s.end_char, s.label_) for s in doc.spans.get("phi", [])] == [
        (s.start_char, s.end_char, s.label_) for s in before.spans.get("phi", [])
    ]
    res = CliRunner().invoke(
        app,
        ["models", "retrain-head", str(model), "--out", str(tmp_path / "bad"), "--corpora", str(corpora),
         "--layers", "-1,x", "-q"],
    )  # fmt: skip
    assert res.exit_code == 2 and "E107" in res.output
    with pytest.raises(AliaClinValueError) as err:
        retrain_head(model, tmp_path / "bad2", corpora, config=replace(SMALL, layers=(7,)))
    assert err.value.code == "E107"
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad2").exists()


def test_ensemble_heads_joins_heads_trained_on_the_same_encoder(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    from safetensors.numpy import load_file, save_file

    from alia_clin.encoder.ensemble import TaggerEnsemble
    from alia_clin.training.ensemble_heads import ensemble_heads, member_report_file

    model, corpora = trained
    a, b = tmp_path / "a", tmp_path / "b"
    retrain_head(model, a, corpora, config=SMALL, cache_dir=tmp_path / "cache")
    retrain_head(model, b, corpora, config=replace(SMALL, seed=1), cache_dir=tmp_path / "cache")
    res = CliRunner().invoke(
        app, ["models", "ensemble-heads", str(a), "--with", str(b), "--out", str(tmp_path / "ab"), "-q"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["members"] == 2
    head = spacy.load(tmp_path / "ab").get_pipe("alia_ner").head  # type: ignore[attr-defined]
    assert isinstance(head, TaggerEnsemble) and len(head.members) == 2
    assert (tmp_path / "ab" / member_report_file("alia_ner", 1)).read_text() == (
        b / head_metrics_file("alia_ner")
    ).read_text()
    # an ensemble grows: its members come first
    summary = ensemble_heads(tmp_path / "ab", [a], tmp_path / "aba")
    assert summary["members"] == 3 and summary["sources"] == [str(tmp_path / "ab")] * 2 + [str(a)]
    # another encoder's head, a head of other layers, and the usual folder errors are refused
    other = tmp_path / "other"
    shutil.copytree(a, other)
    weights = next((other / "alia_encoder" / "model").glob("*.safetensors"))
    tensors = load_file(weights)
    key = sorted(tensors)[-1]
    tensors[key] = tensors[key] + 1
    save_file(tensors, weights)
    wide = tmp_path / "wide"
    retrain_head(model, wide, corpora, config=replace(SMALL, layers=(-1, 1)), cache_dir=tmp_path / "cache")
    cases = [
        ([other], tmp_path / "x1", "alia_ner", "E130"),
        ([wide], tmp_path / "x2", "alia_ner", "E106"),
        ([], tmp_path / "x3", "alia_ner", "E130"),
        ([tmp_path / "missing"], tmp_path / "x4", "alia_ner", "E010"),
        ([b], tmp_path / "ab", "alia_ner", "E137"),
        ([b], tmp_path / "x5", "alia_terms", "E130"),
    ]
    for others, out, component, code in cases:
        with pytest.raises(AliaClinValueError) as err:
            ensemble_heads(a, others, out, component=component)
        assert err.value.code == code, (others, out)
    assert not any((tmp_path / f"x{i}").exists() for i in range(1, 6))


def test_label_memory_cli_writes_the_training_split_memory(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    from alia_clin.clinical.label_memory import MEMORY_FILE, memory_key
    from alia_clin.training.corpora import TaskSources, build_training_data

    model, corpora = trained
    copy = tmp_path / "tiny"
    shutil.copytree(model, copy)
    res = CliRunner().invoke(
        app, ["models", "label-memory", str(copy), "--corpora", str(corpora), "--min-count", "1", "-q"]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output[res.output.index("{") :])
    saved = json.loads((copy / "alia_ner" / MEMORY_FILE).read_text(encoding="utf-8"))
    assert summary["wordings"] == len(saved["labels"]) > 0
    # every wording comes from the ner task's training documents, none only from its dev split
    metrics = json.loads((copy / "training_metrics.json").read_text(encoding="utf-8"))
    tasks = metrics["config"]["tasks"]
    data = build_training_data(corpora, {n: TaskSources.from_config(t) for n, t in tasks.items()})
    td = data.tasks["ner"]
    train_words = {memory_key(ex.text[s:e]) for ex in td.train for s, e, _ in ex.spans}
    assert set(saved["labels"]) <= train_words
    nlp = spacy.load(copy)
    assert nlp.get_pipe("alia_ner").label_memory.labels == saved["labels"]  # type: ignore[attr-defined]
    # errors: not a trained pipeline, bad share
    bad = CliRunner().invoke(app, ["models", "label-memory", str(tmp_path / "nope"), "-q"])
    assert bad.exit_code == 2
    bad = CliRunner().invoke(
        app, ["models", "label-memory", str(copy), "--corpora", str(corpora), "--min-share", "0.4"]
    )
    assert bad.exit_code == 2

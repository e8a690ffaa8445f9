"""Multitask training on tiny data with a tiny random encoder: segments, loss, the output pipeline."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import spacy
import torch

from alia_clin.encoder.heads import IGNORE_INDEX
from alia_clin.encoder.loading import load_encoder
from alia_clin.errors import AliaClinValueError
from alia_clin.training.config import TrainConfig, config_from_dict
from alia_clin.training.corpora import Example
from alia_clin.training.trainer import (
    encoder_layers,
    freeze_bottom_layers,
    make_segments,
    partial_tagger_loss,
    set_attention_dropout,
    train,
)

from ..encoder.tiny import tiny_model_dir
from .synthetic import make_corpus_tree

TEXT = (
    "Paciente: Marta Ibarra Soler. Fecha de ingreso: 03/02/2024.\n"
    "Mujer con insuficiencia cardiaca y disnea de esfuerzo. Tratada con furosemida 40 mg.\n"
    "DNI: 12345678Z.\n"
)


def _config(corpora: Path, **training: object) -> TrainConfig:
    return config_from_dict(
        {
            "nlp": {"lang": "es", "name": "tiny-test"},
            "training": {
                "base_model": str(tiny_model_dir("xlm-roberta")),
                "corpora": str(corpora),
                "max_steps": 6,
                "batch_size": 4,
                "max_length": 48,
                "stride": 12,
                "eval_every_steps": 3,
                "log_every_steps": 2,
                "warmup_steps": 1,
                "lr_encoder": 1e-3,
                "lr_heads": 1e-2,
                **training,
                "tasks": {
                    "phi": {"train": ["meddocan/train"], "dev": ["meddocan/dev"]},
                    "ner": {
                        "labels": ["ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO"],
                        "train": [
                            "cardioccc/train",
                            "distemist_symptemist_medprocner/train",
                            "pharmaconer/train",
                        ],
                        "holdout": "cardioccc/train",
                        "holdout_fraction": 0.3,
                    },
                },
            },
        }
    )


def _outputs(doc: spacy.tokens.Doc) -> dict[str, list[list[object]]]:
    return {
        "ents": [[e.start_char, e.end_char, e.label_] for e in doc.ents],
        "phi": [[s.start_char, s.end_char, s.label_] for s in doc.spans["phi"]],
    }


def test_segments_fit_one_window_and_keep_span_text() -> None:
    enc = load_encoder(tiny_model_dir("xlm-roberta"))
    text = TEXT * 3
    s = text.index("insuficiencia cardiaca")
    spans = [(s, s + len("insuficiencia cardiaca"), "ENFERMEDAD")]
    segs = make_segments(enc, [Example("d1", text, spans, ["x"], None)], content=20)
    assert len(segs) > 3
    tokenized = enc.tokenizer([seg.text for seg in segs], add_special_tokens=False)["input_ids"]
    assert max(len(ids) for ids in tokenized) <= 24  # ~content pieces (words tokenized alone: 20)
    found = [seg.text[a:b] for seg in segs for a, b, _ in seg.spans]
    assert found == ["insuficiencia cardiaca"]
    assert "".join(seg.text for seg in segs).replace("\n", "").replace(" ", "") == text.replace(
        "\n", ""
    ).replace(" ", "")


def test_partial_loss_is_cross_entropy_without_open_tags() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 5)
    targets = torch.tensor([[0, 1, 2, 0, IGNORE_INDEX], [0, 0, 3, 4, 0]])
    ce = torch.nn.functional.cross_entropy(
        logits.reshape(-1, 5), targets.reshape(-1), ignore_index=IGNORE_INDEX
    )
    assert partial_tagger_loss(logits, targets) == pytest.approx(float(ce), rel=1e-5)
    open_tags = torch.tensor([[False, False, False, True, True], [False] * 5])
    assert float(partial_tagger_loss(logits, targets, open_tags)) < float(ce)


def test_attention_dropout_is_switched_off() -> None:
    enc = load_encoder(tiny_model_dir("xlm-roberta"))
    assert set_attention_dropout(enc.model, 0.0) == 2  # one per layer
    assert enc.model.config.attention_probs_dropout_prob == 0.0


@pytest.mark.parametrize("arch", ["bert", "xlm-roberta", "roberta", "modernbert"])
def test_frozen_bottom_layers_get_no_gradient(arch: str) -> None:
    enc = load_encoder(tiny_model_dir(arch))
    model = enc.model
    layers = encoder_layers(model)
    assert freeze_bottom_layers(model, 1) > 0
    model.train()
    ids = enc.tokenizer(["insuficiencia cardiaca, disnea"], return_tensors="pt")
    states = model(**ids).last_hidden_state
    torch.manual_seed(0)  # a random projection: the plain sum of a LayerNorm output has no gradient
    (states * torch.randn_like(states)).sum().backward()
    assert all(p.grad is None and not p.requires_grad for p in layers[0].parameters())
    assert all(p.grad is None for p in model.get_input_embeddings().parameters())
    assert any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in layers[1].parameters())


def test_freeze_layers_is_checked(tmp_path: Path) -> None:
    corpora = make_corpus_tree(tmp_path / "corpora")
    with pytest.raises(AliaClinValueError) as err:
        _config(corpora, freeze_layers=1, freeze_embeddings=False)
    assert "[E130]" in str(err.value)
    with pytest.raises(AliaClinValueError) as err:
        freeze_bottom_layers(load_encoder(tiny_model_dir("bert")).model, 99)
    assert "[E130]" in str(err.value)


def test_training_with_frozen_layers_keeps_them(tmp_path: Path) -> None:
    corpora = make_corpus_tree(tmp_path / "corpora")
    out = tmp_path / "models" / "frozen"
    train(_config(corpora, freeze_layers=1, max_steps=2, eval_every_steps=2, save_dtype="float32"), out)
    base = load_encoder(tiny_model_dir("xlm-roberta")).model
    tuned = load_encoder(out / "alia_encoder" / "model").model
    b0, t0 = encoder_layers(base)[0].state_dict(), encoder_layers(tuned)[0].state_dict()
    assert all(torch.equal(b0[k], t0[k]) for k in b0)
    b1, t1 = encoder_layers(base)[1].state_dict(), encoder_layers(tuned)[1].state_dict()
    assert any(not torch.equal(b1[k], t1[k]) for k in b1)


def test_joint_training_with_a_gru_head(tmp_path: Path) -> None:
    """``head_rnn`` gives both heads a BiGRU, trained with the encoder over padded batches."""
    corpora = make_corpus_tree(tmp_path / "corpora")
    out = tmp_path / "models" / "gru"
    train(_config(corpora, head_rnn=4, max_steps=2, eval_every_steps=2), out)
    nlp = spacy.load(out)
    for name in ("alia_deid", "alia_ner"):
        head = nlp.get_pipe(name).head  # type: ignore[attr-defined]
        assert head.is_sequential and head.rnn_size == 4
    assert nlp(TEXT).text == TEXT
    with pytest.raises(AliaClinValueError) as err:
        _config(corpora, head_rnn=-1)
    assert err.value.code == "E130"


def test_training_writes_a_pipeline_that_reloads_identically(tmp_path: Path) -> None:
    corpora = make_corpus_tree(tmp_path / "corpora")
    out = tmp_path / "models" / "tiny"
    metrics = train(_config(corpora), out)
    assert metrics["stopped_reason"] == "max_steps" and metrics["steps"] == 6
    best = metrics["best"]
    assert set(best["tasks"]) == {"phi", "ner"}
    assert "per_label" in best["tasks"]["ner"] and "f1" in best["tasks"]["ner"]["strict"]
    assert "best_phi_with_rules" in metrics
    on_disk = json.loads((out / "training_metrics.json").read_text(encoding="utf-8"))
    assert on_disk["status"] == "finished" and on_disk["data"]["tasks"]["ner"]["train_docs"] > 0
    events = [json.loads(line)["event"] for line in (out / "training_log.jsonl").read_text().splitlines()]
    assert events[0] == "start" and "eval" in events and "save" in events and events[-1] == "end"
    assert (tmp_path / "models" / "tiny.train.jsonl").is_file()
    # no note text in metrics or logs
    blob = (out / "training_metrics.json").read_text() + (out / "training_log.jsonl").read_text()
    assert "Marta" not in blob and "insuficiencia" not in blob
    # the pipeline: tokenizer + encoder + deid (rules + PHI head) + ner
    nlp = spacy.load(out)
    assert nlp.pipe_names == ["alia_encoder", "alia_deid", "alia_ner"]
    assert (out / "alia_deid" / "phi_head" / "head.safetensors").is_file()
    assert (out / "alia_ner" / "head" / "head.safetensors").is_file()
    # alia_ner's label memory, from the ner task's training sources
    memory = nlp.get_pipe("alia_ner").label_memory  # type: ignore[attr-defined]
    assert memory is not None and (out / "alia_ner" / "label_memory.json").is_file()
    assert memory.sources == on_disk["config"]["tasks"]["ner"]["train"]
    assert (out / "alia_encoder" / "model" / "model.safetensors").stat().st_mode & 0o044 == 0o044
    from safetensors import safe_open

    with safe_open(str(out / "alia_encoder" / "model" / "model.safetensors"), "pt") as fh:
        assert {fh.get_tensor(k).dtype for k in fh.keys()} == {torch.float16}  # noqa: SIM118
    expected = _outputs(nlp(TEXT))
    assert expected["ents"] and expected["phi"]
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(out)!r})\n"
        "doc = nlp(sys.stdin.read())\n"
        "print(json.dumps({'ents': [[e.start_char, e.end_char, e.label_] for e in doc.ents],\n"
        "                  'phi': [[s.start_char, s.end_char, s.label_] for s in doc.spans['phi']]}))\n"
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


def test_time_budget_stops_and_keeps_best(tmp_path: Path) -> None:
    corpora = make_corpus_tree(tmp_path / "corpora")
    out = tmp_path / "m"
    metrics = train(_config(corpora, max_steps=0, max_epochs=50, max_minutes=0.02), out)
    assert metrics["stopped_reason"] == "max_minutes"
    assert (out / "config.cfg").is_file() and metrics["best"]["mean_f1"] >= 0


def test_task_sample_takes_a_share_of_its_batches_each_epoch(tmp_path: Path) -> None:
    """``sample`` 0.5 on the PHI task: an epoch takes half of its batches (rounded up), all of
    the other task's; the share is recorded with the task in the metrics."""
    corpora = make_corpus_tree(tmp_path / "corpora")
    cfg = _config(corpora, max_steps=0, max_epochs=1, eval_every_steps=0, batch_size=2)
    cfg.tasks = [replace(t, sample=0.5) if t.name == "phi" else t for t in cfg.tasks]
    metrics = train(cfg.validate(), tmp_path / "m")
    start = json.loads((tmp_path / "m.train.jsonl").read_text(encoding="utf-8").splitlines()[0])
    segs = start["segments"]
    expected = math.ceil(math.ceil(segs["phi"] / 2) / 2) + math.ceil(segs["ner"] / 2)
    assert segs["phi"] > 2 and metrics["stopped_reason"] == "max_epochs"
    assert start["steps_per_epoch"] == metrics["steps"] == expected
    assert metrics["config"]["tasks"]["phi"]["sample"] == 0.5
    assert metrics["config"]["tasks"]["ner"]["sample"] == 1.0
    for bad in (0.0, 1.5):
        cfg.tasks = [replace(t, sample=bad) for t in cfg.tasks]
        with pytest.raises(AliaClinValueError, match="sample must be in"):
            cfg.validate()


def test_task_copies_add_training_segments(tmp_path: Path) -> None:
    """``case_copies`` + ``accent_copies`` on the entity task: it trains on more segments (the
    copies of its train notes), the PHI task's are unchanged and the flags are recorded."""
    corpora = make_corpus_tree(tmp_path / "corpora")
    cfg = _config(corpora, max_steps=1, eval_every_steps=0)
    train(cfg, tmp_path / "plain")
    cfg.tasks = [
        replace(t, case_copies=True, accent_copies=True) if t.name == "ner" else t for t in cfg.tasks
    ]
    metrics = train(cfg.validate(), tmp_path / "copies")

    def segments(name: str) -> dict[str, int]:
        start = json.loads((tmp_path / f"{name}.train.jsonl").read_text(encoding="utf-8").splitlines()[0])
        return dict(start["segments"])

    plain, copies = segments("plain"), segments("copies")
    assert copies["phi"] == plain["phi"] and copies["ner"] >= 2 * plain["ner"] > 0
    ner = metrics["config"]["tasks"]["ner"]
    assert (ner["case_copies"], ner["accent_copies"]) == (True, True)
    assert metrics["config"]["tasks"]["phi"]["case_copies"] is False


def test_training_is_seeded(tmp_path: Path) -> None:
    corpora = make_corpus_tree(tmp_path / "corpora")
    a = train(_config(corpora, max_steps=3, eval_every_steps=0), tmp_path / "a")
    b = train(_config(corpora, max_steps=3, eval_every_steps=0), tmp_path / "b")
    assert a["best"]["tasks"] == b["best"]["tasks"]


def test_refuses_to_replace_a_foreign_folder(tmp_path: Path) -> None:
    corpora = make_corpus_tree(tmp_path / "corpora")
    out = tmp_path / "keep"
    out.mkdir()
    (out / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match=r"\[E136\]"):
        train(_config(corpora), out)

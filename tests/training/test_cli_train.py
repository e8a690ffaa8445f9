"""``alia-clin train`` and ``alia-clin models build-base`` (argument handling; tiny data only)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from alia_clin.cli.main import app

from ..encoder.tiny import tiny_model_dir
from .synthetic import make_corpus_tree

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]

CFG = """
[nlp]
lang = "es"
name = "cli-tiny"

[training]
max_steps = 2
batch_size = 4
max_length = 48
stride = 12
log_every_steps = 1

[training.tasks]

[training.tasks.ner]
labels = ["ENFERMEDAD","SINTOMA","PROCEDIMIENTO","FARMACO"]
train = ["cardioccc/train"]
holdout = "cardioccc/train"
holdout_fraction = 0.3
"""


def test_train_command_writes_pipeline(tmp_path: Path) -> None:
    corpora = make_corpus_tree(tmp_path / "corpora")
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(CFG, encoding="utf-8")
    out = tmp_path / "models" / "cli-tiny"
    res = runner.invoke(
        app,
        [
            "train", "--config", str(cfg), "--corpora", str(corpora), "--out", str(out),
            "--base-model", str(tiny_model_dir("bert")), "--device", "cpu", "--max-minutes", "5", "--quiet",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "training_metrics.json").read_text(encoding="utf-8"))
    assert metrics["steps"] == 2 and metrics["config"]["max_minutes"] == 5
    assert (out / "alia_ner" / "head" / "head.json").is_file()
    # a ner-only pipeline still has the rules-only de-identification stage
    assert (out / "alia_deid" / "cfg.json").is_file() and not (out / "alia_deid" / "phi_head").exists()


def test_train_command_reports_config_errors(tmp_path: Path) -> None:
    res = runner.invoke(app, ["train", "--config", str(tmp_path / "none.cfg"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "E130" in res.output


def test_build_base_refuses_the_source_checkout() -> None:
    res = runner.invoke(app, ["models", "build-base", "--out", str(REPO / "models" / "base"), "--quiet"])
    assert res.exit_code == 2
    assert "E135" in res.output

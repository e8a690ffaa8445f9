"""Completing a trained pipeline with the rule stages (``alia-clin models add-stages``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from alia_clin.cli.main import app
from alia_clin.errors import AliaClinValueError
from alia_clin.training.assemble import add_rule_stages
from alia_clin.training.trainer import train

from .synthetic import make_corpus_tree
from .test_trainer import _config

RULES = Path(__file__).resolve().parents[2] / "models" / "alia-clin-rules"
NOTE = (
    "Antecedentes: hipertensión arterial.\n"
    "Exploración: TA 150/90 mmHg. No presenta disnea.\n"
    "Paciente: Marta Ibarra Soler, DNI 12345678Z.\n"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("assemble")
    out = root / "models" / "tiny"
    train(_config(make_corpus_tree(root / "corpora"), max_steps=2, eval_every_steps=2), out)
    return out


def test_rule_stages_follow_the_trained_ones(trained: Path, tmp_path: Path) -> None:
    out = tmp_path / "full"
    names = add_rule_stages(trained, RULES, out)
    rules = spacy.load(RULES).pipe_names
    assert names[:3] == ["alia_encoder", "alia_deid", "alia_ner"]
    assert names[3:] == [n for n in rules if n != "alia_deid"]
    assert (out / "training_metrics.json").is_file()
    nlp = spacy.load(out)
    assert nlp.pipe_names == names
    doc = nlp(NOTE)
    phi = {doc.text[s.start_char : s.end_char] for s in doc.spans["phi"]}
    assert "12345678Z" in phi  # the checksum rule of alia_deid, kept from the trained pipeline
    assert doc.spans["sections"], "alia_sections ran"
    assert any(m.label_ for m in doc.spans.get("measurements", [])), "alia_measurements ran"


def test_skip_and_in_place(trained: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained, copy)
    res = CliRunner().invoke(
        app, ["models", "add-stages", str(copy), "--out", str(copy), "--skip", "alia_hf_risk", "-q"]
    )
    assert res.exit_code == 0, res.output
    names = spacy.load(copy).pipe_names
    assert "alia_hf_risk" not in names and "alia_context" in names


def test_refuses_what_is_not_a_pipeline(trained: Path, tmp_path: Path) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E010\]"):
        add_rule_stages(tmp_path / "nothing", RULES, tmp_path / "out")
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("x", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match=r"\[E136\]"):
        add_rule_stages(trained, RULES, other)

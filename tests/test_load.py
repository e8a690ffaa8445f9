"""``alia_clin.load``: directories, names of shipped pipelines, coded errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import alia_clin
from alia_clin.errors import AliaClinValueError


def test_a_shipped_pipeline_is_found_by_name() -> None:
    assert alia_clin.resolve_model("alia-clin-rules") == alia_clin.models_dir() / "alia-clin-rules"
    assert "alia_deid" in alia_clin.load("alia-clin-rules").pipe_names


def test_an_existing_path_wins_over_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = tmp_path / "alia-clin-rules"
    local.mkdir()
    monkeypatch.chdir(tmp_path)
    assert alia_clin.resolve_model("alia-clin-rules") == Path("alia-clin-rules")


def test_unknown_names_and_paths_are_coded_errors(tmp_path: Path) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E010\]"):
        alia_clin.load("no-such-pipeline")
    with pytest.raises(AliaClinValueError, match=r"\[E010\]"):
        alia_clin.load(tmp_path / "missing")


def test_the_default_is_the_encoder_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIA_CLIN_MODEL", raising=False)
    assert alia_clin.DEFAULT_MODEL == "alia-clin-es-small"
    if (alia_clin.models_dir() / alia_clin.DEFAULT_MODEL / "config.cfg").is_file():
        assert alia_clin.default_model_path() == alia_clin.models_dir() / "alia-clin-es-small"


def test_the_default_falls_back_to_the_rules_pipeline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALIA_CLIN_MODEL", raising=False)
    (tmp_path / "alia-clin-rules").mkdir()
    (tmp_path / "alia-clin-rules" / "config.cfg").write_text("", encoding="utf-8")
    monkeypatch.setattr(alia_clin, "models_dir", lambda: tmp_path)
    assert alia_clin.default_model_path() == tmp_path / "alia-clin-rules"
    (tmp_path / "alia-clin-rules" / "config.cfg").unlink()
    assert alia_clin.default_model_path() is None
    assert alia_clin.load().meta["name"] == "rules"  # built in memory, no weights needed


def test_the_environment_names_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIA_CLIN_MODEL", "alia-clin-rules")
    assert alia_clin.default_model_path() == alia_clin.models_dir() / "alia-clin-rules"
    monkeypatch.setenv("ALIA_CLIN_MODEL", "/no/such/pipeline")
    with pytest.raises(AliaClinValueError, match=r"\[E010\]"):
        alia_clin.load()

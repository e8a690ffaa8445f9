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

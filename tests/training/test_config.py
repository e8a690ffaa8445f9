"""The training config: pipelines/clinical.cfg parses, bad keys and values are coded errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.training.config import config_from_dict, load_train_config

REPO = Path(__file__).resolve().parents[2]


def test_clinical_cfg_parses_with_overrides() -> None:
    cfg = load_train_config(REPO / "pipelines" / "clinical.cfg", {"base_model": "/x/base", "max_minutes": 5})
    assert [t.name for t in cfg.tasks] == ["phi", "ner"]
    assert {t.component for t in cfg.tasks} == {"alia_deid", "alia_ner"}
    ner = next(t for t in cfg.tasks if t.name == "ner")
    assert ner.sources.holdout == "cardioccc/train" and ner.sources.holdout_fraction == 0.2
    assert not any("e3c" in s for t in cfg.tasks for s in [*t.sources.train, *t.sources.dev])
    assert cfg.base_model == "/x/base" and cfg.max_minutes == 5
    assert (cfg.max_length, cfg.stride, cfg.bf16, cfg.freeze_embeddings) == (254, 64, True, True)
    assert cfg.lr_encoder == pytest.approx(5e-5) and cfg.lr_heads == pytest.approx(1e-3)


def _base() -> dict[str, object]:
    return {"training": {"max_steps": 1, "tasks": {"ner": {"train": ["cardioccc/train"], "dev": ["x/dev"]}}}}


def test_unknown_key_is_e130() -> None:
    cfg = _base()
    cfg["training"]["learning_rate"] = 1  # type: ignore[index]
    with pytest.raises(AliaClinValueError, match=r"\[E130\].*learning_rate"):
        config_from_dict(cfg)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("device", "tpu"),
        ("batch_size", 0),
        ("scheme", "BILOU"),
        ("head_rnn", -1),
        ("head_rnn", "0  # an inline comment is not a cfg comment"),
        ("max_steps", 2.5),
        ("bf16", 1),
        ("lr_heads", "1e-3"),
    ],
)
def test_bad_values_are_e130(key: str, value: object) -> None:
    cfg = _base()
    cfg["training"][key] = value  # type: ignore[index]
    with pytest.raises(AliaClinValueError, match=r"\[E130\]"):
        config_from_dict(cfg)


@pytest.mark.parametrize("sample", [0, -0.5, 1.5, "half"])
def test_bad_task_sample_is_e130(sample: object) -> None:
    cfg = {
        "training": {
            "max_steps": 1,
            "tasks": {"ner": {"train": ["cardioccc/train"], "dev": ["cardioccc/train"], "sample": sample}},
        }
    }
    with pytest.raises(AliaClinValueError, match=r"\[E130\].*sample"):
        config_from_dict(cfg)


def test_task_sample_is_read() -> None:
    cfg = {"training": {"max_steps": 1, "tasks": {"phi": {"train": ["a"], "dev": ["b"], "sample": 0.25}}}}
    assert config_from_dict(cfg).tasks[0].sample == 0.25


def test_task_copies_are_read_and_checked() -> None:
    phi = {"train": ["a"], "dev": ["b"], "case_copies": True}
    cfg = {"training": {"max_steps": 1, "tasks": {"phi": phi}}}
    task = config_from_dict(cfg).tasks[0]
    assert (task.case_copies, task.accent_copies) == (True, False)
    phi["accent_copies"] = "yes"
    with pytest.raises(AliaClinValueError, match=r"\[E130\].*accent_copies must be true or false"):
        config_from_dict(cfg)


def test_task_needs_dev_or_holdout() -> None:
    cfg = {"training": {"max_steps": 1, "tasks": {"ner": {"train": ["cardioccc/train"]}}}}
    with pytest.raises(AliaClinValueError, match=r"needs dev"):
        config_from_dict(cfg)


def test_missing_file_is_e130(tmp_path: Path) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E130\]"):
        load_train_config(tmp_path / "nope.cfg")

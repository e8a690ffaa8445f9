"""The JSON-stored classifier: training recipe, sign constraints, save/load, refusal of bad files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alia_clin.errors import AliaClinError
from alia_clin.hf.features import FEATURE_NAMES
from alia_clin.hf.model import HfRiskModel
from alia_clin.hf.training import NON_NEGATIVE, Featurized, metrics, sensitivity_at_specificity, train_model


def _data(n: int = 160, seed: int = 0) -> tuple[Featurized, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 2, size=(n, len(FEATURE_NAMES))).astype(float)
    crackles = FEATURE_NAMES.index("has_crackles")
    beta = FEATURE_NAMES.index("has_beta_blocker")
    # Positives have crackles; beta-blockers are (spuriously) more frequent in negatives.
    y = ((x[:, crackles] + 0.3 * rng.normal(size=n)) > 0.5).astype(int)
    x[:, beta] = (1 - y) * (rng.random(n) < 0.8)
    words = ["disnea edema crepitantes", "fractura tobillo yeso", "tos fiebre antibiotico"]
    texts = [words[0] if yi else words[1 + (i % 2)] for i, yi in enumerate(y)]
    return Featurized("early", x, texts, [[] for _ in range(n)], np.zeros(n)), y


def test_training_constrains_signs_and_calibrates(tmp_path: Path) -> None:
    feats, y = _data()
    model, sel = train_model(feats, y, use_text=True, version="t", c_grid=(0.1, 1.0), text_weights=(1.0, 4.0))
    assert sel["C"] in (0.1, 1.0) and sel["text_weight"] in (1.0, 4.0)
    assert (model.coef[list(NON_NEGATIVE)] >= 0).all()
    assert model.coef[FEATURE_NAMES.index("has_beta_blocker")] == 0.0
    assert model.coef[FEATURE_NAMES.index("has_crackles")] > 0
    p = model.predict_proba(feats.x, feats.texts)
    assert ((p >= 0) & (p <= 1)).all()
    assert metrics(y, p, probability=True)["auroc"] > 0.9
    path = tmp_path / "m.json"
    model.save(path)
    again = HfRiskModel.load(path)
    assert np.allclose(again.predict_proba(feats.x, feats.texts), p, atol=1e-6)
    assert again.metadata["representation"] == "evidence+tfidf"


def test_evidence_only_model_ignores_text() -> None:
    feats, y = _data(seed=1)
    model, _ = train_model(feats, y, use_text=False, version="t", c_grid=(1.0,))
    assert not model.uses_text
    assert (model.text_logits(["cualquier texto"]) == 0).all()


def test_bad_model_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AliaClinError) as err:
        HfRiskModel.load(tmp_path / "missing.json")
    assert err.value.code == "E301"
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(AliaClinError) as err:
        HfRiskModel.load(bad)
    assert err.value.code == "E300"
    feats, y = _data(seed=2)
    model, _ = train_model(feats, y, use_text=False, version="t", c_grid=(1.0,))
    data = model.to_dict()
    data["coef"] = data["coef"][:-1]
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(AliaClinError) as err:
        HfRiskModel.load(bad)
    assert err.value.code == "E300"


def test_sensitivity_at_specificity() -> None:
    y = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1])
    s = np.array([0.1] * 9 + [0.9, 0.8, 0.95])
    # One negative scores 0.9: at ≥ 90 % specificity the threshold can sit above it.
    assert sensitivity_at_specificity(y, s) == 1.0
    assert sensitivity_at_specificity(y, s, 0.95) == 0.5

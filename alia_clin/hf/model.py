"""The calibrated heart-failure classifier: a logistic model over evidence features and,
optionally, a TF-IDF document representation, with Platt calibration.

Stored as plain JSON (``model.json``: names, numbers and the TF-IDF vocabulary), never pickle,
so loading a model directory cannot execute code. Inference needs only numpy and scikit-learn's
``CountVectorizer`` with a fixed vocabulary (no fitting at run time).

Scoring: ``logit = intercept + coef · (x - mean) / scale + text_coef · tfidf(text)``;
``probability = sigmoid(a · logit + b)`` with the Platt parameters ``(a, b)`` fitted on
out-of-fold logits of the training split.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from ..errors import AliaClinValueError, ErrorCode

#: File name of a stored model inside a component directory.
MODEL_FILE = "model.json"
#: Format version of ``model.json``.
FORMAT = 1
#: Tokens of the text representation: letter runs of 2+ characters (no digits: values are
#: features of their own and numbers would let the model memorize documents).
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"


def make_vectorizer(vocabulary: Sequence[str] | None = None, **kwargs: Any) -> CountVectorizer:
    """The ``CountVectorizer`` shared by training and inference (accent-folded, lowercased, 1–2 grams)."""
    return CountVectorizer(
        lowercase=True,
        strip_accents="unicode",
        token_pattern=TOKEN_PATTERN,
        ngram_range=(1, 2),
        vocabulary=None if vocabulary is None else list(vocabulary),
        dtype=np.float64,
        **kwargs,
    )


def tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF (1 + log tf) × IDF, rows L2-normalized."""
    x = counts.astype(np.float64).tocsr(copy=True)
    x.data = 1.0 + np.log(x.data)
    x = x.multiply(idf.reshape(1, -1)).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ x)


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, numerically safe."""
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))))


@dataclass
class HfRiskModel:
    """Coefficients of one trained model (see the module docstring)."""

    setting: str
    version: str
    feature_names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    platt: tuple[float, float] = (1.0, 0.0)
    vocabulary: list[str] = field(default_factory=list)
    idf: np.ndarray = field(default_factory=lambda: np.zeros(0))
    text_coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def uses_text(self) -> bool:
        """Whether the model has a TF-IDF text part."""
        return bool(self.vocabulary)

    # -- scoring ---------------------------------------------------------------------------
    def standardize(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / scale`` for a matrix or a vector of evidence features."""
        return np.asarray((x - self.mean) / self.scale)

    def evidence_logits(self, x: np.ndarray) -> np.ndarray:
        """The evidence part of the logit (without intercept), one per row of ``x``."""
        return np.asarray(np.atleast_2d(self.standardize(x)) @ self.coef)

    def text_logits(self, texts: Sequence[str]) -> np.ndarray:
        """The text part of the logit, one per text (zeros when the model has no text part)."""
        if not self.uses_text:
            return np.zeros(len(texts))
        counts = make_vectorizer(self.vocabulary).transform(list(texts))
        return np.asarray(tfidf(counts, self.idf) @ self.text_coef).ravel()

    def logits(self, x: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Uncalibrated logits."""
        return self.intercept + self.evidence_logits(x) + self.text_logits(texts)

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities from uncalibrated logits."""
        a, b = self.platt
        return sigmoid(a * np.asarray(logits) + b)

    def predict_proba(self, x: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, one per document."""
        return self.calibrate(self.logits(np.atleast_2d(x), texts))

    # -- serialization -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "format": FORMAT,
            "setting": self.setting,
            "version": self.version,
            "feature_names": list(self.feature_names),
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
            "coef": [float(v) for v in self.coef],
            "intercept": float(self.intercept),
            "platt": [float(self.platt[0]), float(self.platt[1])],
            "vocabulary": list(self.vocabulary),
            "idf": [round(float(v), 6) for v in self.idf],
            "text_coef": [round(float(v), 6) for v in self.text_coef],
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "<dict>") -> HfRiskModel:
        """Rebuild a model from :meth:`to_dict` output (``E300`` when it is malformed)."""
        try:
            if int(data["format"]) != FORMAT:
                raise ValueError(f"format {data['format']}")
            names = [str(n) for n in data["feature_names"]]
            arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
            if any(a.shape != (len(names),) for a in arrays):
                raise ValueError("feature array lengths differ")
            vocab = [str(t) for t in data.get("vocabulary", [])]
            idf = np.asarray(data.get("idf", []), dtype=np.float64)
            text_coef = np.asarray(data.get("text_coef", []), dtype=np.float64)
            if idf.shape != (len(vocab),) or text_coef.shape != (len(vocab),):
                raise ValueError("text array lengths differ")
            a, b = (float(v) for v in data["platt"])
            intercept = float(data["intercept"])
            if not all(math.isfinite(v) for v in (a, b, intercept)):
                raise ValueError("non-finite parameter")
        except (KeyError, TypeError, ValueError) as exc:
            raise AliaClinValueError(ErrorCode.E300, path=source, reason=type(exc).__name__) from exc
        return cls(
            setting=str(data["setting"]),
            version=str(data["version"]),
            feature_names=names,
            mean=arrays[0],
            scale=arrays[1],
            coef=arrays[2],
            intercept=intercept,
            platt=(a, b),
            vocabulary=vocab,
            idf=idf,
            text_coef=text_coef,
            metadata=dict(data.get("metadata", {})),
        )

    def save(self, path: str | Path) -> None:
        """Write ``model.json`` (compact JSON) to ``path`` (a file path)."""
        Path(path).write_text(
            json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
        )

    @classmethod
    def load(cls, path: str | Path) -> HfRiskModel:
        """Read a model written by :meth:`save` (``E300`` when malformed, ``E301`` when missing)."""
        p = Path(path)
        if not p.is_file():
            raise AliaClinValueError(ErrorCode.E301, path=str(p))
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AliaClinValueError(ErrorCode.E300, path=str(p), reason=type(exc).__name__) from exc
        return cls.from_dict(data, source=str(p))

"""Train and evaluate the heart-failure classifier (:class:`~alia_clin.hf.model.HfRiskModel`).

Reads labelled :class:`~alia_clin.hf.dataset.HfDocument` s and a spaCy pipeline with
the stages of :data:`FEATURE_PIPES` it has (at least ``alia_sections`` and
``alia_measurements``); returns features, models and metrics (numbers
only, never text). Settings:

``explicit``  the text as it is; explicit HF mentions are evidence (``hf_diagnosis``);
``early``     every explicit HF mention is masked (:func:`alia_clin.hf.masking.mask_hf_mentions`)
              before anything else sees the text, and no diagnosis evidence is extracted.

Coefficients of HF evidence are constrained to be non-negative (:func:`_fit`), so evidence
can only raise the risk. Model selection: the inverse regularization ``C`` (and, with text,
the weight of the TF-IDF block) is chosen by 5-fold cross-validated AUROC on the training
split only; Platt
calibration is fitted on the out-of-fold logits of that same cross-validation, then the final
model is refitted on the whole training split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold
from spacy.language import Language

from ..context.lexicon import ContextLexicon
from ..errors import AliaClinValueError, ErrorCode
from .dataset import HfDocument
from .evidence import Evidence, extract_evidence
from .features import FEATURE_NAMES, evidence_features, framingham_score
from .masking import mask_hf_mentions
from .model import HfRiskModel, make_vectorizer, tfidf

SETTINGS = ("explicit", "early")
#: Evidence features whose coefficient must not be negative (see :func:`_fit`): every criterion
#: indicator except the "normal" findings (normal peptide, preserved LVEF), the Framingham
#: counts, peptide level, LVEF deficit, "measured" flags, age and the risk-factor and drug counts.
NON_NEGATIVE = tuple(
    i
    for i, name in enumerate(FEATURE_NAMES)
    if name not in ("has_natriuretic_peptide_normal", "has_lvef_preserved")
)
C_GRID = (0.03, 0.1, 0.3, 1.0)
#: Weights of the TF-IDF block against the standardized evidence features (its rows are
#: L2-normalized, so without a weight the shared penalty all but silences it).
TEXT_WEIGHTS = (1.0, 4.0, 16.0)
MAX_VOCAB = 5000
MIN_DF = 3


@dataclass
class Featurized:
    """Features of a list of documents in one setting (texts are the model inputs, masked in
    the early setting; kept in memory only)."""

    setting: str
    x: np.ndarray
    texts: list[str]
    evidence: list[list[Evidence]]
    framingham: np.ndarray


def setting_text(text: str, setting: str) -> str:
    """The text the model sees in ``setting`` (``E302`` for an unknown setting)."""
    if setting not in SETTINGS:
        raise AliaClinValueError(ErrorCode.E302, field="setting", reason=f"one of {', '.join(SETTINGS)}")
    return mask_hf_mentions(text) if setting == "early" else text


#: The stages run before evidence extraction, in training as in the shipped pipeline.
FEATURE_PIPES = ("alia_sections", "alia_measurements", "alia_ner", "alia_terms", "alia_codes", "alia_context")


def featurize(
    docs: Sequence[HfDocument], nlp: Language, lexicon: ContextLexicon, setting: str, batch_size: int = 16
) -> Featurized:
    """Run the stages ``alia_hf_risk`` reads at inference (sections, measurements and, when the
    pipeline has them, the entity, coding and assertion stages) on each (masked) text and
    extract evidence features, so training sees the evidence inference sees."""
    texts = [setting_text(d.text, setting) for d in docs]
    enable = [p for p in FEATURE_PIPES if p in nlp.pipe_names]
    rows, evidence, fram = [], [], []
    with nlp.select_pipes(enable=enable):
        for doc in nlp.pipe(texts, batch_size=batch_size):
            items = extract_evidence(doc, lexicon, include_diagnosis=setting == "explicit")
            evidence.append(items)
            rows.append(evidence_features(items))
            fram.append(framingham_score(items))
    x = np.vstack(rows) if rows else np.zeros((0, len(FEATURE_NAMES)))
    return Featurized(setting, x, texts, evidence, np.asarray(fram))


def _design(
    x: np.ndarray,
    texts: Sequence[str],
    mean: np.ndarray,
    scale: np.ndarray,
    vocab: Sequence[str],
    idf: np.ndarray,
    text_weight: float = 1.0,
) -> sparse.csr_matrix:
    parts = [sparse.csr_matrix((x - mean) / scale)]
    if vocab:
        parts.append(tfidf(make_vectorizer(vocab).transform(list(texts)), idf) * text_weight)
    return sparse.csr_matrix(sparse.hstack(parts))


@dataclass
class _Prepared:
    """Standardization and TF-IDF vocabulary fitted on one training part."""

    mean: np.ndarray
    scale: np.ndarray
    vocab: list[str]
    idf: np.ndarray

    def design(self, x: np.ndarray, texts: Sequence[str], text_weight: float) -> sparse.csr_matrix:
        return _design(x, texts, self.mean, self.scale, self.vocab, self.idf, text_weight)


def _prepare(x: np.ndarray, texts: Sequence[str], use_text: bool) -> _Prepared:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    vocab: list[str] = []
    idf = np.zeros(0)
    if use_text:
        vec = make_vectorizer(min_df=MIN_DF, max_features=MAX_VOCAB)
        counts = vec.fit_transform(list(texts))
        vocab = [str(t) for t in vec.get_feature_names_out()]
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        idf = np.log((1 + len(texts)) / (1 + df)) + 1.0
    return _Prepared(mean, scale, vocab, idf)


def _fit(design: sparse.csr_matrix, y: np.ndarray, c: float, seed: int) -> LogisticRegression:
    """Logistic regression with sign constraints: every feature of :data:`NON_NEGATIVE` whose
    coefficient comes out negative is removed (coefficient fixed at 0) and the model refitted,
    until none is negative. Evidence for heart failure may add to the risk or be ignored, never
    lower it (the corpora are small and such signs are confounding, not clinical knowledge)."""
    keep = np.ones(design.shape[1])
    for _ in range(len(NON_NEGATIVE) + 1):
        clf = LogisticRegression(C=c, max_iter=5000, random_state=seed)
        clf.fit(sparse.csr_matrix(design @ sparse.diags(keep)), y)
        clf.coef_[0, keep == 0] = 0.0
        negative = [j for j in NON_NEGATIVE if keep[j] and clf.coef_[0, j] < 0]
        if not negative:
            break
        keep[negative] = 0.0
    return clf


def train_model(
    feats: Featurized,
    y: np.ndarray,
    *,
    use_text: bool,
    version: str,
    seed: int = 0,
    c_grid: Sequence[float] = C_GRID,
    text_weights: Sequence[float] = TEXT_WEIGHTS,
    folds: int = 5,
) -> tuple[HfRiskModel, dict[str, Any]]:
    """Select ``C`` (and the TF-IDF block weight) by CV AUROC on the training data, calibrate on
    the out-of-fold logits of the selected setting, refit on all of it; return the model and the
    selection report."""
    weights = tuple(text_weights) if use_text else (1.0,)
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(skf.split(feats.x, y))
    prepared = [_prepare(feats.x[tr], [feats.texts[i] for i in tr], use_text) for tr, _ in splits]
    cv: dict[str, float] = {}
    oof: dict[tuple[float, float], np.ndarray] = {}
    for w in weights:
        designs = [
            (
                prep.design(feats.x[tr], [feats.texts[i] for i in tr], w),
                prep.design(feats.x[te], [feats.texts[i] for i in te], w),
            )
            for prep, (tr, te) in zip(prepared, splits, strict=True)
        ]
        for c in c_grid:
            out = np.zeros(len(y))
            for (d_tr, d_te), (tr, te) in zip(designs, splits, strict=True):
                out[te] = _fit(d_tr, y[tr], c, seed).decision_function(d_te)
            oof[(c, w)] = out
            cv[f"C={c},text_weight={w}" if use_text else f"C={c}"] = float(roc_auc_score(y, out))
    best = max(oof, key=lambda k: (round(float(roc_auc_score(y, oof[k])), 4), -k[0], -k[1]))
    best_c, best_w = best
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(oof[best].reshape(-1, 1), y)
    prep = _prepare(feats.x, feats.texts, use_text)
    clf = _fit(prep.design(feats.x, feats.texts, best_w), y, best_c, seed)
    n_ev = len(FEATURE_NAMES)
    coef = clf.coef_.ravel()
    model = HfRiskModel(
        setting=feats.setting,
        version=version,
        feature_names=list(FEATURE_NAMES),
        mean=prep.mean,
        scale=prep.scale,
        coef=coef[:n_ev],
        intercept=float(clf.intercept_[0]),
        platt=(float(platt.coef_[0, 0]), float(platt.intercept_[0])),
        vocabulary=prep.vocab,
        idf=prep.idf,
        text_coef=coef[n_ev:] * best_w,
        metadata={
            "representation": "evidence+tfidf" if use_text else "evidence",
            "C": best_c,
            "text_weight": best_w if use_text else None,
            "cv_auroc": cv,
            "train_documents": len(y),
            "train_positives": int(y.sum()),
            "seed": seed,
        },
    )
    return model, {"C": best_c, "text_weight": best_w if use_text else None, "cv_auroc": cv}


def sensitivity_at_specificity(y: np.ndarray, score: np.ndarray, specificity: float = 0.9) -> float:
    """The highest sensitivity with specificity ≥ ``specificity`` on the ROC curve."""
    fpr, tpr, _ = roc_curve(y, score)
    ok = fpr <= 1.0 - specificity + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def metrics(y: np.ndarray, score: np.ndarray, *, probability: bool) -> dict[str, Any]:
    """AUROC, AUPRC, sensitivity at 90 % specificity, and the Brier score when ``score`` is a
    probability."""
    out: dict[str, Any] = {
        "n": len(y),
        "positives": int(y.sum()),
        "auroc": round(float(roc_auc_score(y, score)), 4),
        "auprc": round(float(average_precision_score(y, score)), 4),
        "sens_at_90_spec": round(sensitivity_at_specificity(y, score), 4),
    }
    if probability:
        out["brier"] = round(float(brier_score_loss(y, score)), 4)
    return out

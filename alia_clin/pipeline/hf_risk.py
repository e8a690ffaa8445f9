"""``alia_hf_risk``: calibrated, explainable heart-failure risk per note.

Reads ``doc.text``, ``doc._.measurements`` (``alia_measurements``), ``doc.spans["sections"]``
(``alia_sections``), ``doc.ents`` + ``span._.assertion`` when an entity stage ran, and the
optional structured context ``doc._.hf_context`` (see below). Writes:

* ``doc.cats["HEART_FAILURE"]``: the calibrated probability;
* ``doc._.hf_risk``: ``{"probability", "level" (low/moderate/high), "thresholds", "model",
  "version", "setting", "applied", "logit": {"intercept", "evidence", "text"}}``;
* ``doc._.hf_evidence``: evidence dicts (``criterion``, ``display``, ``group``, ``start``,
  ``end``, ``assertion``, ``value``, ``unit``, ``contribution``, ``codings``, ``source``)
  ordered by contribution, largest first. ``contribution`` is the item's share, in logit units
  of the uncalibrated model, of the change in the evidence logit when its criterion is removed
  (leave-one-criterion-out); negated, hypothetical and family items contribute 0. Items from
  structured context have ``source="context"`` and ``start``/``end`` None.

Settings (``setting``): ``explicit`` (the note as written; an HF diagnosis mention is
evidence), ``early`` (early detection: explicit HF mentions are masked before the text model
sees the note and evidence inside them is dropped, so the risk comes from the clinical picture)
or ``auto`` (the shipped default): a note that asserts an HF diagnosis (present, historical or
uncertain; not negated, family or hypothetical) is scored by the explicit model, any other note by
the early-detection model. The explicit model is trained on labels that come from written
diagnoses, so on a note without one it says little more than "not written"; the early model
estimates the risk from the clinical picture, which is the question for an undiagnosed patient.
``doc._.hf_risk["applied"]`` says which model scored the note.

Levels: ``low`` below ``thresholds["moderate"]`` (default 0.2), ``high`` from
``thresholds["high"]`` (default 0.5), ``moderate`` in between.

Structured context: set ``doc._.hf_context = {"age": 74, "sex": "male", "observations":
[{"code": "33762-6", "value": 1450, "unit": "pg/mL"}]}`` before the stage runs (LOINC codes:
NT-proBNP 33762-6, BNP 30934-4, LVEF 10230-1/8806-2/18043-0, heart rate 8867-4, BMI 39156-5,
age 30525-0). Context values feed the same features as values found in the text; a structured
age replaces the age read from the text.

Weights: ``<component dir>/explicit.json`` and ``early.json`` (plain JSON, see
:mod:`alia_clin.hf.model`), read by ``from_disk()`` or ``initialize(model_dir=...)``; the
ConText lexicons are the packaged ones (``doc._.language``, else ``language``). The settings
come from the pipeline config (``nlp.config``), so ``spacy.load(path, config={"components":
{"alia_hf_risk": {"setting": "early"}}})`` switches a shipped pipeline to early detection.
A pipe that was never initialized raises ``E001``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from ..context.lexicon import ContextLexicon, load_lexicon_data
from ..errors import AliaClinRuntimeError, AliaClinValueError, ErrorCode
from ..extensions import install_extensions
from ..hf import criteria as C
from ..hf.evidence import Evidence, extract_evidence
from ..hf.features import evidence_features
from ..hf.masking import find_hf_mentions, mask_hf_mentions
from ..hf.model import HfRiskModel
from ..io.language import doc_language
from .base import ErrorHandlingPipe

SETTINGS = ("explicit", "early")
#: Settings of the stage: a model setting, or ``auto`` (explicit model when the note asserts an
#: HF diagnosis, else early detection).
STAGE_SETTINGS = (*SETTINGS, "auto")
LANGUAGES = ("es", "ca", "eu", "gl")
LABEL = "HEART_FAILURE"
DEFAULT_THRESHOLDS = {"moderate": 0.2, "high": 0.5}
CONTEXT_EXTENSION = "hf_context"
#: LOINC displays of the measured values the evidence can carry.
LOINC_DISPLAY = {
    "33762-6": "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
    "30934-4": "Natriuretic peptide B [Mass/volume] in Serum or Plasma",
    "10230-1": "Left ventricular Ejection fraction",
    "8806-2": "Left ventricular Ejection fraction by 2D echo",
    "18043-0": "Left ventricular Ejection fraction by US",
    "8867-4": "Heart rate",
    "39156-5": "Body mass index (BMI) [Ratio]",
}


def install_hf_extensions() -> None:
    """Register ``doc._.hf_context`` (and the shared extensions) once."""
    install_extensions()
    if not Doc.has_extension(CONTEXT_EXTENSION):
        Doc.set_extension(CONTEXT_EXTENSION, default=None)


install_hf_extensions()


def risk_level(probability: float, thresholds: dict[str, float]) -> str:
    """``low`` / ``moderate`` / ``high`` for a probability and the level thresholds."""
    if probability >= thresholds["high"]:
        return "high"
    if probability >= thresholds["moderate"]:
        return "moderate"
    return "low"


def contributions(model: HfRiskModel, items: Sequence[Evidence]) -> list[float]:
    """Leave-one-criterion-out contribution of each item (logit units; 0 for weight-0 items)."""
    full = float(model.evidence_logits(evidence_features(items))[0])
    out = [0.0] * len(items)
    for crit in {e.criterion for e in items if e.weight > 0}:
        rest = [e for e in items if e.criterion != crit]
        delta = full - float(model.evidence_logits(evidence_features(rest))[0])
        idx = [i for i, e in enumerate(items) if e.criterion == crit and e.weight > 0]
        total = sum(items[i].weight for i in idx)
        for i in idx:
            out[i] = delta * items[i].weight / total
    return out


def _codings(e: Evidence) -> list[dict[str, str]]:
    codings = C.criterion_codings(e.criterion, e.concept_id)
    if e.loinc and not any(c["code"] == e.loinc for c in codings):
        display = LOINC_DISPLAY.get(e.loinc, e.loinc)
        codings.append({"system": "http://loinc.org", "code": e.loinc, "display": display})
    return codings


def evidence_dicts(items: Sequence[Evidence], contrib: Sequence[float]) -> list[dict[str, Any]]:
    """The ``doc._.hf_evidence`` list: dicts ordered by contribution (largest first)."""
    rows: list[dict[str, Any]] = []
    for e, c in zip(items, contrib, strict=True):
        rows.append(
            {
                "criterion": e.criterion,
                "display": C.BY_ID[e.criterion].display,
                "group": e.group,
                "start": e.start,
                "end": e.end,
                "assertion": e.assertion,
                "value": e.value,
                "unit": e.unit,
                "contribution": round(float(c), 6),
                "codings": _codings(e),
                "source": e.source,
            }
        )
    rows.sort(
        key=lambda r: (
            -float(r["contribution"]),
            r["start"] if r["start"] is not None else 1 << 30,
            r["criterion"],
        )
    )
    return rows


class HfRiskComponent(ErrorHandlingPipe):
    """The ``alia_hf_risk`` pipe. See the module docstring for what it reads and writes."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        setting: str,
        thresholds: dict[str, float],
        language: str,
        max_scope: int,
    ) -> None:
        install_hf_extensions()
        if setting not in STAGE_SETTINGS:
            raise AliaClinValueError(
                ErrorCode.E107, value=setting, field="setting", choices=", ".join(STAGE_SETTINGS)
            )
        if (
            set(thresholds) != {"moderate", "high"}
            or not 0 < thresholds["moderate"] <= thresholds["high"] < 1
        ):
            raise AliaClinValueError(
                ErrorCode.E302,
                field="thresholds",
                reason="need 0 < moderate <= high < 1 (keys moderate, high)",
            )
        if language not in LANGUAGES:
            raise AliaClinValueError(
                ErrorCode.E107, value=language, field="language", choices=", ".join(LANGUAGES)
            )
        if max_scope < 1:
            raise AliaClinValueError(ErrorCode.E302, field="max_scope", reason="must be at least 1")
        self.name = name
        self.cfg: dict[str, Any] = {
            "setting": setting,
            "thresholds": {k: float(v) for k, v in thresholds.items()},
            "language": language,
            "max_scope": int(max_scope),
        }
        self._models: dict[str, HfRiskModel] | None = None
        self._lexicons: dict[str, ContextLexicon] = {}

    # -- state -------------------------------------------------------------------------------
    @property
    def is_initialized(self) -> bool:
        """Whether the models are loaded."""
        return self._models is not None

    @property
    def models(self) -> dict[str, HfRiskModel]:
        """The loaded models by setting (E001 before ``initialize()``/``from_disk()``)."""
        if self._models is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        return self._models

    def active_model(self, setting: str | None = None) -> HfRiskModel:
        """The model of ``setting`` (default: the configured one; ``auto`` needs both, and
        returns the explicit one). A method, not a property: spaCy probes components for a
        ``model`` attribute."""
        models = self.models
        setting = setting or self.cfg["setting"]
        needed = SETTINGS if setting == "auto" else (setting,)
        for s in needed:
            if s not in models:
                raise AliaClinValueError(ErrorCode.E301, path=f"{self.name}/{s}.json")
        return models["explicit" if setting == "auto" else setting]

    def lexicon_for(self, doc: Doc) -> ContextLexicon:
        """The packaged ConText lexicon of ``doc._.language`` (es/ca/eu/gl; detected and set when the
        Doc has none), else of the configured ``language``; compiled on first use."""
        lang = doc_language(doc, fallback=self.cfg["language"])
        if lang not in self._lexicons:
            self._lexicons[lang] = ContextLexicon.from_data(load_lexicon_data(lang))
        return self._lexicons[lang]

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Any]] | None = None,
        *,
        nlp: Any = None,
        model_dir: str | None = None,
        models: dict[str, Any] | None = None,
    ) -> None:
        """Load models from ``model_dir`` (``<setting>.json`` files) or take ``models``
        (``{setting: HfRiskModel}``). Plain type hints: spaCy validates these arguments."""
        loaded: dict[str, HfRiskModel] = dict(models or {})
        if model_dir is not None:
            loaded.update(self._read_models(Path(model_dir)))
        if not loaded:
            raise AliaClinValueError(ErrorCode.E301, path=str(model_dir) if model_dir else "<no model_dir>")
        self._models = loaded

    @staticmethod
    def _read_models(path: Path) -> dict[str, HfRiskModel]:
        return {s: HfRiskModel.load(path / f"{s}.json") for s in SETTINGS if (path / f"{s}.json").is_file()}

    # -- processing --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 64) -> Iterator[Doc]:
        """Score docs; errors go through spaCy's error handler."""
        self.active_model()  # E301 early when a needed model file is missing
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            try:
                self._annotate_batch(docs)
            except Exception as exc:  # spaCy's error-handler contract
                error_handler(self.name, self, docs, exc)
            yield from docs

    def applied_setting(self, doc: Doc) -> str:
        """The model setting that scores ``doc``: the configured one, or under ``auto``
        ``explicit`` when the note asserts an HF diagnosis (evidence weight > 0), else ``early``."""
        return self._route(doc)[0]

    def _route(self, doc: Doc) -> tuple[str, list[Evidence] | None]:
        """(applied setting, its evidence when already extracted to decide)."""
        setting = self.cfg["setting"]
        if setting != "auto":
            return str(setting), None
        items = self.evidence(doc, "explicit")
        if any(e.criterion == "hf_diagnosis" and e.weight > 0 for e in items):
            return "explicit", items
        return "early", None

    def _annotate_batch(self, docs: Sequence[Doc]) -> None:
        groups: dict[str, list[tuple[Doc, list[Evidence]]]] = {}
        for doc in docs:
            setting, items = self._route(doc)
            if items is None:
                items = self.evidence(doc, setting)
            groups.setdefault(setting, []).append((doc, items))
        for setting, group in groups.items():
            self._annotate([d for d, _ in group], [i for _, i in group], self.models[setting], setting)

    def evidence(self, doc: Doc, setting: str | None = None) -> list[Evidence]:
        """The evidence items of ``doc`` in ``setting`` (default: the one that scores it under
        the configured setting; no contributions)."""
        setting = setting or self.applied_setting(doc)
        early = setting == "early"
        items = extract_evidence(
            doc,
            self.lexicon_for(doc),
            include_diagnosis=not early,
            context=doc._.get(CONTEXT_EXTENSION),
            max_scope=self.cfg["max_scope"],
        )
        if early:
            masked = [(m.start, m.end) for m in find_hf_mentions(doc.text)]
            items = [
                e
                for e in items
                if e.start is None or not any(e.start < me and ms < (e.end or e.start) for ms, me in masked)
            ]
        return items

    def _annotate(
        self, docs: Sequence[Doc], items_per_doc: Sequence[list[Evidence]], model: HfRiskModel, setting: str
    ) -> None:
        """Score ``docs`` (with their evidence) by ``model`` of model setting ``setting``."""
        x = np.vstack([evidence_features(items) for items in items_per_doc])
        texts = [mask_hf_mentions(d.text) if setting == "early" else d.text for d in docs]
        ev_logits = model.evidence_logits(x)
        text_logits = model.text_logits(texts)
        probs = model.calibrate(model.intercept + ev_logits + text_logits)
        for k, doc in enumerate(docs):
            p = float(probs[k])
            items = items_per_doc[k]
            doc.cats[LABEL] = p
            doc._.hf_risk = {
                "probability": p,
                "level": risk_level(p, self.cfg["thresholds"]),
                "thresholds": dict(self.cfg["thresholds"]),
                "model": f"alia_hf_risk/{model.setting}/{model.metadata.get('representation', 'evidence')}",
                "version": model.version,
                "setting": self.cfg["setting"],
                "applied": setting,
                "logit": {
                    "intercept": float(model.intercept),
                    "evidence": float(ev_logits[k]),
                    "text": float(text_logits[k]),
                },
            }
            doc._.hf_evidence = evidence_dicts(items, contributions(model, items))

    # -- spaCy plumbing ----------------------------------------------------------------------
    def score(self, examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
        """AUROC of ``cats["HEART_FAILURE"]`` against the reference cats (None with one class)."""
        from sklearn.metrics import roc_auc_score

        y, p = [], []
        for eg in examples:
            if LABEL in eg.reference.cats:
                y.append(int(eg.reference.cats[LABEL] >= 0.5))
                p.append(float(eg.predicted.cats.get(LABEL, 0.0)))
        return {"hf_auroc": float(roc_auc_score(y, p)) if len(set(y)) == 2 else None}

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps(
            {"cfg": self.cfg, "models": {k: m.to_dict() for k, m in self.models.items()}}
        )

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> HfRiskComponent:
        msg = srsly.msgpack_loads(data)
        self.cfg.update(msg["cfg"])
        self._models = {
            k: HfRiskModel.from_dict(v, source=f"{self.name}/{k}") for k, v in msg["models"].items()
        }
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        for setting, model in self.models.items():
            model.save(p / f"{setting}.json")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> HfRiskComponent:
        p = Path(path)
        models = self._read_models(p)
        if not models:
            raise AliaClinValueError(ErrorCode.E301, path=str(p / f"{self.cfg['setting']}.json"))
        self._models = models
        return self


@Language.factory(
    "alia_hf_risk",
    assigns=["doc.cats", "doc._.hf_risk", "doc._.hf_evidence"],
    requires=["doc._.measurements"],
    default_config={
        "setting": "auto",
        "thresholds": dict(DEFAULT_THRESHOLDS),
        "language": "es",
        "max_scope": 5,
    },
    default_score_weights={"hf_auroc": 1.0},
)
def make_hf_risk(
    nlp: Language, name: str, setting: str, thresholds: dict[str, float], language: str, max_scope: int
) -> HfRiskComponent:
    """Create the ``alia_hf_risk`` pipe (no I/O here: models load in ``initialize``/``from_disk``)."""
    return HfRiskComponent(
        nlp, name, setting=setting, thresholds=thresholds, language=language, max_scope=max_scope
    )

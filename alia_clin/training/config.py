"""Training configuration: the ``[training]`` section of a spaCy-style ``.cfg`` in ``pipelines/``.

Reads a config file (``spacy.util.load_config``; values are JSON, ``null`` is None) and returns a
:class:`TrainConfig`; writes nothing. Layout::

    [nlp]
    lang = "es"
    name = "alia-clin-es-small"

    [components.alia_deid]          # optional: config of the output pipeline's stages
    languages = ["es","ca","eu","gl"]

    [training]
    base_model = null               # a directory or hub id (CLI --base-model overrides)
    revision = null                 # 40-character commit for a hub id
    corpora = null                  # corpora root (CLI --corpora; else $ALIA_CLIN_CORPORA)
    seed = 0
    device = "cpu"
    max_epochs = 10
    max_minutes = 0                 # 0 = no time budget
    batch_size = 16                 # segments (one window each) per optimizer step
    ...

    [training.tasks.phi]
    component = "alia_deid"
    train = ["meddocan/train"]
    dev = ["meddocan/dev"]
    weight = 1.0                    # loss weight
    sample = 1.0                    # share of its batches per epoch (< 1: replay, fresh subset)
    case_copies = true              # also train on a lower-case copy of every train note
    accent_copies = false           # also train on a copy of every train note without accents

    [training.tasks.ner]
    component = "alia_ner"
    labels = ["ENFERMEDAD","SINTOMA","PROCEDIMIENTO","FARMACO"]
    train = ["cardioccc/train", "distemist_symptemist_medprocner/train"]
    holdout = "cardioccc/train"
    holdout_fraction = 0.2

Every field of :class:`TrainConfig` may appear in ``[training]``; unknown keys are an error
(``E130``), so a typo never silently falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from .corpora import TaskSources

#: Which pipeline component each task's head goes into.
TASK_COMPONENTS = ("alia_deid", "alia_ner")
DEVICES = ("cpu", "cuda")


@dataclass
class TaskConfig:
    """One task: its head's component, sources, labels, loss weight and ``sample``: the share of
    the task's batches taken each epoch (a fresh random subset each epoch; 1.0 = all of them).
    A share below 1 keeps a task the encoder already learned in view at a fraction of its cost
    while another task is the focus (replay). ``case_copies`` / ``accent_copies``: also train on
    a lower-case / accent-free copy of every train note (:mod:`alia_clin.training.copies`; same
    gold offsets), for notes exported in capitals or lower case, or typed without accents; the
    dev notes are never copied."""

    name: str
    component: str
    sources: TaskSources
    weight: float = 1.0
    sample: float = 1.0
    case_copies: bool = False
    accent_copies: bool = False


@dataclass
class TrainConfig:
    """Everything the trainer needs (see the module docstring for the file layout)."""

    tasks: list[TaskConfig]
    lang: str = "es"
    name: str = "alia-clin"
    base_model: str | None = None
    revision: str | None = None
    corpora: str | None = None
    seed: int = 0
    device: str = "cpu"
    max_epochs: int = 10
    max_steps: int = 0
    max_minutes: float = 0.0
    batch_size: int = 16
    lr_encoder: float = 5e-5
    lr_heads: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 50
    grad_clip: float = 1.0
    freeze_embeddings: bool = True
    freeze_layers: int = 0
    bf16: bool = True
    max_length: int = 254
    stride: int = 64
    eval_batch_size: int = 16
    pooling: str = "first"
    scheme: str = "BIO"
    head_dropout: float = 0.1
    head_rnn: int = 0
    attention_dropout: float | None = 0.0
    eval_every_steps: int = 0
    eval_every_minutes: float = 10.0
    patience: int = 3
    num_threads: int = 0
    log_every_steps: int = 20
    save_dtype: str = "float16"
    partial_labels: bool = True
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    source_path: str = ""

    def with_overrides(self, **values: Any) -> TrainConfig:
        """A copy with the given fields replaced (None values are ignored)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})

    def validate(self) -> TrainConfig:
        """Check values; raises ``E130`` naming the first problem."""
        reason = None
        if not self.tasks:
            reason = "no [training.tasks.*] section"
        elif self.device.split(":", 1)[0] not in DEVICES:
            reason = f"device must be one of {', '.join(DEVICES)}"
        elif self.batch_size < 1 or self.max_epochs < 0 or self.max_steps < 0 or self.max_minutes < 0:
            reason = "batch_size must be >= 1 and max_epochs, max_steps, max_minutes >= 0"
        elif self.max_epochs == 0 and self.max_steps == 0 and self.max_minutes == 0:
            reason = "set max_epochs, max_steps or max_minutes"
        elif self.freeze_layers < 0 or (self.freeze_layers > 0 and not self.freeze_embeddings):
            reason = "freeze_layers must be >= 0 and needs freeze_embeddings = true"
        elif self.head_rnn < 0:
            reason = "head_rnn must be >= 0 (0: per-word heads; n: a BiGRU of width n per direction)"
        elif self.scheme not in ("IO", "BIO"):
            reason = "scheme must be IO or BIO"
        elif len({t.component for t in self.tasks}) != len(self.tasks):
            reason = "two tasks write to the same component"
        for t in self.tasks:
            if reason:
                break
            if t.component not in TASK_COMPONENTS:
                reason = f"task {t.name}: component must be one of {', '.join(TASK_COMPONENTS)}"
            elif not t.sources.train:
                reason = f"task {t.name}: no train sources"
            elif not t.sources.dev and not (t.sources.holdout and t.sources.holdout_fraction > 0):
                reason = f"task {t.name}: needs dev sources or a holdout"
            elif not 0 <= t.sources.holdout_fraction < 1:
                reason = f"task {t.name}: holdout_fraction must be in [0, 1)"
            elif not 0 < t.sample <= 1:
                reason = f"task {t.name}: sample must be in (0, 1]"
        if reason:
            raise AliaClinValueError(ErrorCode.E130, path=self.source_path or "<config>", reason=reason)
        return self


_TASK_FLAGS = ("case_copies", "accent_copies")
_TASK_KEYS = {"component", "train", "dev", "holdout", "holdout_fraction", "labels", "weight", "sample"}
_TASK_KEYS |= set(_TASK_FLAGS)
_SKIP = {"tasks", "components", "source_path", "lang", "name"}


def config_from_dict(cfg: dict[str, Any], *, path: str = "<config>") -> TrainConfig:
    """Build a :class:`TrainConfig` from a parsed config (``nlp``, ``training``, ``components``)."""

    def bad(reason: str) -> AliaClinValueError:
        return AliaClinValueError(ErrorCode.E130, path=path, reason=reason)

    training = dict(cfg.get("training") or {})
    raw_tasks = training.pop("tasks", None) or {}
    allowed = {f.name for f in fields(TrainConfig)} - _SKIP
    unknown = sorted(set(training) - allowed)
    if unknown:
        raise bad(f"unknown [training] keys: {', '.join(unknown)}")
    defaults = TrainConfig(tasks=[])
    for key, value in training.items():
        want = type(getattr(defaults, key))
        if want in (int, float, bool, str) and value is not None:
            ok = isinstance(value, want) and (want is bool or not isinstance(value, bool))
            if want is float and isinstance(value, int) and not isinstance(value, bool):
                ok = True
            if not ok:
                raise bad(f"[training] {key} must be {want.__name__}, got {type(value).__name__}")
    tasks = []
    for name, t in raw_tasks.items():
        if not isinstance(t, dict):
            raise bad(f"[training.tasks.{name}] must be a section")
        extra = sorted(set(t) - _TASK_KEYS)
        if extra:
            raise bad(f"unknown keys in [training.tasks.{name}]: {', '.join(extra)}")
        component = t.get("component") or {"phi": "alia_deid", "ner": "alia_ner"}.get(name, "")
        sources = TaskSources.from_config(t)
        try:
            weight, sample = float(t.get("weight", 1.0)), float(t.get("sample", 1.0))
        except (TypeError, ValueError) as exc:
            raise bad(f"[training.tasks.{name}] weight and sample must be numbers") from exc
        flags = {k: t.get(k, False) for k in _TASK_FLAGS}
        for key, value in flags.items():
            if not isinstance(value, bool):
                raise bad(f"[training.tasks.{name}] {key} must be true or false")
        tasks.append(TaskConfig(name, component, sources, weight, sample, **flags))
    nlp = cfg.get("nlp") or {}
    components = {k: dict(v) for k, v in (cfg.get("components") or {}).items() if isinstance(v, dict)}
    try:
        out = TrainConfig(
            tasks=tasks,
            lang=str(nlp.get("lang", "es")),
            name=str(nlp.get("name", "alia-clin")),
            components=components,
            source_path=path,
            **training,
        )
    except TypeError as exc:  # pragma: no cover - guarded by the key check above
        raise bad(type(exc).__name__) from exc
    return out.validate()


def load_train_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a ``.cfg`` file (spaCy/thinc syntax) into a :class:`TrainConfig`.

    ``overrides`` (e.g. from the CLI) replace ``[training]`` fields after reading; None values
    are ignored. Raises ``E130`` for a missing or invalid file.
    """
    from spacy.util import load_config

    p = Path(path)
    if not p.is_file():
        raise AliaClinValueError(ErrorCode.E130, path=str(p), reason="no such file")
    try:
        raw = load_config(p, interpolate=True).copy()
    except Exception as exc:  # thinc's ConfigValidationError and parse errors
        raise AliaClinValueError(ErrorCode.E130, path=str(p), reason=type(exc).__name__) from exc
    cfg = config_from_dict(dict(raw), path=str(p))
    if overrides:
        cfg = cfg.with_overrides(**overrides).validate()
    return cfg

"""Retraining a head-backed stage's tagger on the frozen states of a trained pipeline's encoder.

Reads a pipeline folder written by ``alia-clin train`` (its ``alia_encoder`` and the component
to retrain, ``alia_ner`` or ``alia_deid``), the task's sources from its
``training_metrics.json`` and the corpora; writes a **new** pipeline folder: a copy of the
input whose component holds the new head (``alia_ner/head/``, ``alia_deid/phi_head/``), plus
``head_training_<component>.json`` (configuration, sources, per-epoch dev scores, counts; never
text). The encoder weights are copied byte for byte.

Why: fine-tuning the encoder is what costs on a CPU; a sequence head (a BiGRU over the words,
:class:`~alia_clin.encoder.heads.WordTagger` with ``rnn > 0``) trained on states computed once
costs minutes and fixes much of what a per-word head gets wrong at entity boundaries.

The dev split is rebuilt exactly as the encoder's training built it (all its tasks' sources,
same hashed holdout, the same train documents dropped for being linked to any task's dev), so
the encoder never saw it; ``sources`` only narrows which train documents the head
sees. The best epoch is chosen on that dev split (as the trainer's early stopping does), so the
dev score of the chosen epoch is optimistic by the selection; the report says which epoch won.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import srsly

from ..encoder.decoding import DECODINGS
from ..encoder.heads import IGNORE_INDEX, WordTagger
from ..encoder.windows import EncodedNote, canonical_layers, n_hidden_layers
from ..errors import AliaClinValueError, ErrorCode
from .copies import with_copies
from .corpora import Example, TaskSources, TrainingData, build_training_data
from .states import encode_cached

logger = logging.getLogger("alia_clin")

METRICS_FILE = "training_metrics.json"


def head_metrics_file(component: str) -> str:
    """The report file a retrained component's head leaves in the pipeline folder."""
    return f"head_training_{component}.json"


COMPONENTS = ("alia_ner", "alia_deid")


@dataclass(frozen=True)
class FrozenTaggerConfig:
    """Hyper-parameters of :func:`train_frozen_tagger` (defaults: the shipped alia_ner head)."""

    epochs: int = 10
    patience: int = 3
    batch_size: int = 8
    chunk_words: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    mlp_hidden: int = 256
    rnn: int = 128
    dropout: float = 0.3
    scheme: str = "BIO"
    seed: int = 0
    #: torch CPU threads while training (0: leave torch's setting).
    num_threads: int = 0
    #: Encoder layers the head reads, concatenated (``(-1,)``: the last; the shipped entity
    #: head reads ``(-1, 8)``); the pipeline's ``alia_encoder`` is set to keep them.
    layers: tuple[int, ...] = (-1,)
    #: How the head turns word probabilities into spans, also for its dev scores: ``"greedy"``
    #: or ``"viterbi"`` (BIO only; :mod:`alia_clin.encoder.decoding`).
    decoding: str = "greedy"
    #: Also train on a lower-case copy of every training note (same gold offsets), so that the
    #: head reads notes written in lower case, and notes in capitals, which ``alia_encoder``
    #: folds to lower case (:mod:`alia_clin.encoder.casing`), as well as ordinary ones.
    case_copies: bool = False
    #: Also train on a copy of every training note without accents ("cardiaca", "disnea
    #: subita"; ñ and ç kept; same gold offsets), as many real notes are typed.
    accent_copies: bool = False

    def validate(self) -> FrozenTaggerConfig:
        """Raises ``E130`` naming the first bad value."""
        bad = [name for name in ("epochs", "batch_size", "chunk_words") if int(getattr(self, name)) < 1]
        if self.patience < 0 or self.mlp_hidden < 0 or self.rnn < 0 or not 0 <= self.dropout < 1:
            bad.append("patience/mlp_hidden/rnn/dropout")
        if self.scheme not in ("IO", "BIO"):
            bad.append("scheme")
        if self.decoding not in DECODINGS or (self.decoding == "viterbi" and self.scheme != "BIO"):
            bad.append("decoding")
        if not self.layers or len(set(self.layers)) != len(self.layers):
            bad.append("layers")
        if bad:
            raise AliaClinValueError(
                ErrorCode.E130, path="<frozen head config>", reason=f"bad {', '.join(bad)}"
            )
        return self


@dataclass
class EncodedExample:
    """One annotated note with its frozen word states and gold tag ids (one per word)."""

    example: Example
    encoded: EncodedNote
    targets: np.ndarray


def word_chunks(data: Sequence[EncodedExample], chunk_words: int) -> list[tuple[int, int, int]]:
    """Training items ``(note index, first word, end word)``: notes longer than ``chunk_words``
    are cut into windows that overlap by half, so every word is seen with context on both sides."""
    items = []
    step = max(1, chunk_words // 2)
    for i, d in enumerate(data):
        n = d.encoded.n_words
        if n == 0:
            continue
        start = 0
        while True:
            items.append((i, start, min(n, start + chunk_words)))
            if start + chunk_words >= n:
                break
            start += step
    return items


def _scores(
    head: WordTagger, data: Sequence[EncodedExample], min_scores: Sequence[float]
) -> list[dict[str, Any]]:
    """Strict scores of the head's predictions on ``data`` (predicted once), at each ``min_score``."""
    from .trainer import score_predictions

    preds = head.predict_many([d.encoded for d in data], [d.example.text for d in data])
    examples = [d.example for d in data]
    return [score_predictions(examples, [[p for p in ps if p[3] >= t] for ps in preds]) for t in min_scores]


def _score(head: WordTagger, data: Sequence[EncodedExample]) -> dict[str, Any]:
    return _scores(head, data, [0.0])[0]


def train_frozen_tagger(
    train: Sequence[EncodedExample],
    dev: Sequence[EncodedExample],
    labels: Sequence[str],
    config: FrozenTaggerConfig | None = None,
    *,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[WordTagger, dict[str, Any]]:
    """Train a :class:`WordTagger` on frozen states; keep the epoch with the best dev strict F1.

    Partially annotated examples (``example.annotated``) only constrain the labels their corpus
    annotates (the trainer's partial-label loss). Deterministic for a fixed seed on CPU.
    Returns the head (eval mode) and a report (per-epoch loss and dev F1, best epoch, counts).
    Raises ``E133`` when there is nothing to train or evaluate on.
    """
    import torch

    from .trainer import _open_tags, partial_tagger_loss

    cfg = (config or FrozenTaggerConfig()).validate()
    items = word_chunks(train, cfg.chunk_words)
    if not items or not dev:
        raise AliaClinValueError(ErrorCode.E133, task="frozen head", split="train" if not items else "dev")
    first = train[items[0][0]].encoded
    hidden = first.hidden_size
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    head = WordTagger(
        hidden,
        list(labels),
        scheme=cfg.scheme,
        dropout=cfg.dropout,
        mlp_hidden=cfg.mlp_hidden,
        rnn=cfg.rnn,
        layers=first.layers,
        decoding=cfg.decoding,
    )
    for d in [*train, *dev]:
        d.targets = np.asarray(head.targets(d.encoded.words, d.example.spans), dtype=np.int64)
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    open_rows = {i: _open_tags(head, d.example.annotated) for i, d in enumerate(train)}
    threads = torch.get_num_threads()
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, Any]] | None = None
    start = time.perf_counter()
    try:
        for epoch in range(1, cfg.epochs + 1):
            head.train()
            rng.shuffle(items)
            total, count = 0.0, 0
            for b in range(0, len(items), cfg.batch_size):
                batch = items[b : b + cfg.batch_size]
                width = max(e - s for _, s, e in batch)
                x = torch.zeros(len(batch), width, hidden)
                y = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
                mask = torch.zeros(len(batch), width, dtype=torch.bool)
                for r, (i, s, e) in enumerate(batch):
                    x[r, : e - s] = torch.as_tensor(train[i].encoded.states[s:e], dtype=torch.float32)
                    y[r, : e - s] = torch.as_tensor(train[i].targets[s:e])
                    mask[r, : e - s] = True
                open_tags = torch.tensor([open_rows[i] for i, _, _ in batch], dtype=torch.bool)
                loss = partial_tagger_loss(head(x, mask), y, open_tags)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach()) * len(batch)
                count += len(batch)
            head.eval()
            dev_f1 = float(_score(head, dev)["strict"]["f1"])
            row = {
                "epoch": epoch,
                "loss": round(total / max(count, 1), 5),
                "dev_f1": round(dev_f1, 4),
                "seconds": round(time.perf_counter() - start, 1),
            }
            history.append(row)
            if log:
                log(row)
            if best is None or dev_f1 > best[0]:
                best = (dev_f1, epoch, {k: v.detach().clone() for k, v in head.state_dict().items()})
            elif epoch - best[1] >= cfg.patience > 0:
                break
    finally:
        torch.set_num_threads(threads)
    assert best is not None
    head.load_state_dict(best[2])
    head.eval()
    report = {
        "config": asdict(cfg),
        "train_notes": len(train),
        "train_chunks": len(items),
        "train_words": int(sum(d.encoded.n_words for d in train)),
        "dev_notes": len(dev),
        "epochs": history,
        "best_epoch": best[1],
        "seconds": round(time.perf_counter() - start, 1),
    }
    return head, report


def read_training_metrics(model_dir: Path) -> dict[str, Any]:
    """``model_dir/training_metrics.json``; ``E010`` (no such folder), ``E130`` (not a pipeline
    written by ``alia-clin train``)."""
    if not model_dir.is_dir():
        raise AliaClinValueError(ErrorCode.E010, path=str(model_dir))
    if not (model_dir / METRICS_FILE).is_file():
        raise AliaClinValueError(
            ErrorCode.E130,
            path=str(model_dir / METRICS_FILE),
            reason="not a pipeline written by 'alia-clin train'",
        )
    return dict(json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8")))


def training_data_as_trained(metrics: dict[str, Any], corpora: str | Path) -> TrainingData:
    """Every task of the pipeline's training config, read as the encoder's training read them:
    the same dev split and the same train documents removed for being linked to another task's
    dev documents."""
    all_tasks = metrics["config"]["tasks"]
    return build_training_data(corpora, {name: TaskSources.from_config(t) for name, t in all_tasks.items()})


def task_of(metrics: dict[str, Any], component: str) -> tuple[str, dict[str, Any]]:
    """The name and config section of the training task that writes ``component`` (``E130``: none)."""
    for name, task in metrics.get("config", {}).get("tasks", {}).items():
        if task.get("component") == component:
            return name, task
    raise AliaClinValueError(
        ErrorCode.E130, path=METRICS_FILE, reason=f"no training task writes component '{component}'"
    )


def retrain_head(
    model_dir: str | Path,
    out_dir: str | Path,
    corpora: str | Path,
    *,
    component: str = "alia_ner",
    sources: Sequence[str] | None = None,
    config: FrozenTaggerConfig | None = None,
    min_score: float | None = None,
    thresholds: Sequence[float] = (0.0, 0.5, 0.6, 0.7, 0.8),
    cache_dir: str | Path | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train a new head for ``component`` of the pipeline ``model_dir`` and write the pipeline
    with it to ``out_dir`` (a new folder; see the module docstring). Returns the report.

    ``sources``: train sources the head learns from (a subset of the task's; default all);
    ``min_score``: set the component's ``min_score`` (``alia_ner`` only; default: keep);
    ``thresholds``: ``min_score`` values whose dev scores are reported. Raises ``E010`` (no
    such folder), ``E130`` (no training metrics; bad component, sources or config), ``E137``
    (``out_dir`` exists).
    """
    import alia_clin

    model_dir, out_dir = Path(model_dir), Path(out_dir)
    if component not in COMPONENTS:
        raise AliaClinValueError(
            ErrorCode.E130, path=str(model_dir), reason=f"component must be one of {', '.join(COMPONENTS)}"
        )
    metrics = read_training_metrics(model_dir)
    if out_dir.exists():
        raise AliaClinValueError(ErrorCode.E137, path=str(out_dir))
    if min_score is not None and (component != "alia_ner" or not 0.0 <= min_score <= 1.0):
        raise AliaClinValueError(
            ErrorCode.E130, path=str(model_dir), reason="min_score is an alia_ner setting in [0, 1]"
        )
    task_name, task = task_of(metrics, component)
    train_sources = list(task["train"])
    chosen = list(sources) if sources else train_sources
    unknown = sorted(set(chosen) - set(train_sources))
    if unknown:
        raise AliaClinValueError(
            ErrorCode.E130,
            path=str(model_dir),
            reason=f"sources {', '.join(unknown)} are not train sources of task '{task_name}'",
        )
    td = training_data_as_trained(metrics, corpora).tasks[task_name]
    train_ex = [ex for ex in td.train if set(ex.sources) & set(chosen)]
    cfg = (config or FrozenTaggerConfig()).validate()
    train_ex = with_copies(train_ex, case=cfg.case_copies, accent=cfg.accent_copies)
    nlp = alia_clin.load(model_dir)
    enc_pipe = nlp.get_pipe("alia_encoder")
    encoder = enc_pipe.encoder  # type: ignore[attr-defined]
    head_layers = canonical_layers(cfg.layers, n_hidden_layers(encoder))
    # the head's layers alone: the cache and the states it trains on do not depend on what
    # else the pipeline's encoder keeps
    settings = replace(enc_pipe.settings, layers=head_layers)  # type: ignore[attr-defined]
    t0 = time.perf_counter()

    def encode(examples: Sequence[Example], split: str) -> list[EncodedExample]:
        def progress(done: int, total: int) -> None:
            if log:
                log({"stage": f"encode {split}", "done": done, "total": total})

        states = encode_cached(
            encoder,
            [(ex.id, ex.text) for ex in examples],
            settings=settings,
            cache_dir=cache_dir,
            progress=progress,
        )
        return [
            EncodedExample(ex, enc, np.zeros(0, dtype=np.int64))
            for ex, enc in zip(examples, states, strict=True)
        ]

    train_data, dev_data = encode(train_ex, "train"), encode(td.dev, "dev")
    encode_seconds = round(time.perf_counter() - t0, 1)
    head, report = train_frozen_tagger(train_data, dev_data, td.labels, cfg, log=log)
    pipe = nlp.get_pipe(component)
    old_head = pipe.head  # type: ignore[attr-defined]
    report.update(
        {
            "component": component,
            "task": task_name,
            "sources": chosen,
            "encoder_sha256": encoder.weights_sha256,
            "encode_seconds": encode_seconds,
            "dev": {
                # scored only where the states hold the layers the previous head reads
                "previous_head": _score(old_head, dev_data)
                if set(old_head.layers) <= set(head_layers)
                else None,
                "new_head": dict(
                    zip(
                        [f"min_score={t}" for t in thresholds],
                        _scores(head, dev_data, thresholds),
                        strict=True,
                    )
                ),
            },
        }
    )
    kept = list(enc_pipe.cfg.get("layers", [-1]))  # type: ignore[attr-defined]
    encoder_layers = kept + [x for x in head_layers if x not in kept]
    _write_pipeline(
        model_dir, out_dir, component, head, pipe.cfg, min_score, report, encoder_layers  # type: ignore[attr-defined]
    )
    return report


def head_dir_name(component: str) -> str:
    """The folder a component keeps its head in (inside its own folder)."""
    from ..pipeline import deid, ner

    return deid.HEAD_DIR if component == "alia_deid" else ner.HEAD_DIR


def _write_pipeline(
    model_dir: Path,
    out_dir: Path,
    component: str,
    head: WordTagger,
    pipe_cfg: dict[str, Any],
    min_score: float | None,
    report: dict[str, Any],
    encoder_layers: list[int],
) -> None:
    """Copy ``model_dir`` beside ``out_dir``, swap in the head (and ``min_score``), make the
    encoder keep ``encoder_layers``, then rename."""
    from spacy.util import load_config

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        target = tmp / "pipeline"
        shutil.copytree(model_dir, target)
        comp_dir = target / component
        head_dir = comp_dir / head_dir_name(component)
        shutil.rmtree(head_dir, ignore_errors=True)
        head.save(head_dir, dtype=str(pipe_cfg.get("save_dtype", "float32")))
        if min_score is not None:
            cfg_path = comp_dir / "cfg.json"
            cfg = json.loads(cfg_path.read_text(encoding="utf-8")) if cfg_path.is_file() else {}
            cfg["min_score"] = float(min_score)
            cfg_path.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
            config = load_config(target / "config.cfg")
            config["components"][component]["min_score"] = float(min_score)
            config.to_disk(target / "config.cfg")
        config = load_config(target / "config.cfg")
        if list(config["components"]["alia_encoder"].get("layers", [-1])) != encoder_layers:
            config["components"]["alia_encoder"]["layers"] = encoder_layers
            config.to_disk(target / "config.cfg")
            enc_json = target / "alia_encoder" / "encoder.json"
            meta = srsly.read_json(enc_json)
            meta.setdefault("cfg", {})["layers"] = encoder_layers
            srsly.write_json(enc_json, meta)  # as the encoder pipe's to_disk writes it
        (target / head_metrics_file(component)).write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.replace(target, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

"""Multitask fine-tuning of ONE encoder with one :class:`WordTagger` head per task.

Reads a :class:`~alia_clin.training.config.TrainConfig`, the BRAT corpora it names
(:mod:`alia_clin.training.corpora`) and a base encoder directory (or pinned hub id); writes

* a spaCy pipeline directory ``out_dir`` (tokenizer ``alia_clin.WordPunctTokenizer.v1`` +
  ``alia_encoder`` with the fine-tuned weights in ``save_dtype`` + ``alia_deid`` (rules + the
  ``phi`` head) + ``alia_ner`` (the ``ner`` head and its label memory, built from the ``ner``
  task's training documents: :mod:`alia_clin.clinical.label_memory`) that ``spacy.load`` reads without
  ``import alia_clin``, with ``training_metrics.json`` (config, data counts, best dev scores per
  task and label) and ``training_log.jsonl`` inside;
* a live JSONL metrics log (default ``<out_dir>.train.jsonl`` beside it): ``start``, ``step``
  (losses, learning rate, throughput), ``eval`` (strict P/R/F1 per task and label), ``save`` and
  ``end`` events. Counts and scores only, never note text.

How it trains:

* notes are cut into *segments* of at most one window of pieces (``max_length`` minus special
  tokens), preferably at line breaks, then sentence ends, never inside a gold span when
  avoidable, so every segment is one encoder window (no overlap compute in training);
* each optimizer step takes one task's batch of ``batch_size`` segments of similar length (less
  padding); tasks alternate, their batches spread evenly over an epoch in proportion to their
  size;
* loss: cross-entropy over words; with ``partial_labels`` a word tagged ``O`` in a document whose
  corpus does not annotate label X may be X (the loss sums the probabilities of the allowed tags),
  so e.g. DisTEMIST notes do not teach "not a drug";
* AdamW with two learning rates (encoder, heads), warmup then linear decay over the planned
  steps or the time budget, whichever ends first; optional frozen input embeddings and
  ``freeze_layers`` frozen bottom transformer layers (no gradients are computed or stored below
  the first trainable layer, so a CPU step is cheaper: see :func:`freeze_bottom_layers`); bf16
  autocast for the encoder forward (``bf16``) on CPU or CUDA; fixed seeds;
* ``attention_dropout`` (default 0.0; None keeps the model's): dropout on attention
  probabilities makes PyTorch's CPU SDPA leave its fused kernel; turning it off made a CPU
  training step ≈1.8× faster here (hidden-state dropout stays);
* dev evaluation (strict F1, model alone) every ``eval_every_minutes`` / ``eval_every_steps``;
  the mean over tasks selects the best checkpoint, which is saved at once (atomically), so a
  run stopped by ``max_minutes``, ``patience`` or a crash keeps the best pipeline on disk.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import TOKENIZER, __version__
from ..errors import AliaClinValueError, ErrorCode
from ..text import split_words
from .config import TrainConfig
from .copies import with_copies
from .corpora import (
    Example,
    TaskSources,
    TrainingData,
    build_training_data,
    default_corpora_root,
    resolve_overlaps,
)

if TYPE_CHECKING:
    import torch
    from spacy.language import Language

    from ..clinical.label_memory import LabelMemory
    from ..encoder.heads import WordTagger
    from ..encoder.loading import LoadedEncoder
    from ..encoder.windows import WindowSettings

logger = logging.getLogger("alia_clin")

METRICS_FILE = "training_metrics.json"
LOG_FILE = "training_log.jsonl"
_BREAK_SCORE = {"newline": 3, "sentence": 2, "word": 1}


# --------------------------------------------------------------------------- segments


@dataclass
class Segment:
    """A training unit: a slice of one note that fits one encoder window.

    ``spans`` are flat ``(start, end, label)`` offsets relative to ``text``; ``annotated`` the
    labels its source annotates (None: all); ``n_pieces`` its length in pieces.
    """

    text: str
    spans: list[tuple[int, int, str]]
    annotated: frozenset[str] | None
    doc_id: str
    n_pieces: int = 0


def _piece_counts(
    encoder: LoadedEncoder, texts: Sequence[str], words: Sequence[list[tuple[int, int]]]
) -> list[np.ndarray]:
    """Pieces per word for every note (one fast-tokenizer call for all)."""
    from ..encoder.loading import quiet_transformers

    batch = [[encoder.word_prefix + t[s:e] for s, e in w] for t, w in zip(texts, words, strict=True)]
    out = []
    nonempty = [i for i, b in enumerate(batch) if b]
    counts: dict[int, np.ndarray] = {}
    if nonempty:
        with quiet_transformers():
            enc = encoder.tokenizer(
                [batch[i] for i in nonempty], is_split_into_words=True, add_special_tokens=False
            )
        for j, i in enumerate(nonempty):
            ids = [w for w in enc.word_ids(j) if w is not None]
            counts[i] = np.bincount(np.asarray(ids, dtype=np.int64), minlength=len(batch[i]))
    for i in range(len(batch)):
        out.append(counts.get(i, np.zeros(0, dtype=np.int64)))
    return out


def _cut_score(text: str, words: list[tuple[int, int]], k: int, spans: list[tuple[int, int, str]]) -> int:
    """How good a cut before word ``k`` is: 0 inside a gold span, else word < sentence < newline."""
    start = words[k][0]
    if any(s < start < e for s, e, _ in spans):
        return 0
    gap = text[words[k - 1][1] : start]
    if "\n" in gap or "\r" in gap:
        return _BREAK_SCORE["newline"]
    if gap and text[words[k - 1][0] : words[k - 1][1]] in (".", "!", "?", ";", ":"):
        return _BREAK_SCORE["sentence"]
    return _BREAK_SCORE["word"]


def make_segments(encoder: LoadedEncoder, examples: Sequence[Example], content: int) -> list[Segment]:
    """Cut notes into segments of at most ``content`` pieces (see the module docstring).

    Gold spans are made flat first (:func:`resolve_overlaps`); a span crossing an unavoidable
    cut is clipped to the segment.
    """
    all_words = [split_words(ex.text) for ex in examples]
    counts = _piece_counts(encoder, [ex.text for ex in examples], all_words)
    out: list[Segment] = []
    for ex, words, cnt in zip(examples, all_words, counts, strict=True):
        if not words:
            continue
        spans = resolve_overlaps(ex.spans)
        cum = np.concatenate([[0], np.cumsum(cnt)])
        i, n = 0, len(words)
        while i < n:
            j = int(np.searchsorted(cum, cum[i] + content, side="right")) - 1  # words[i:j] fit
            j = max(j, i + 1)
            if j >= n:
                k = n
            else:
                lo = i + max(1, (j - i) // 2)
                best, k = -1, j
                for cand in range(j, lo - 1, -1):
                    score = _cut_score(ex.text, words, cand, spans)
                    if score > best:
                        best, k = score, cand
                    if best == _BREAK_SCORE["newline"]:
                        break
            s0, s1 = words[i][0], words[k - 1][1]
            seg_spans = [(max(s, s0) - s0, min(e, s1) - s0, lab) for s, e, lab in spans if s < s1 and s0 < e]
            n_pieces = int(cum[k] - cum[i])
            out.append(Segment(ex.text[s0:s1], seg_spans, ex.annotated, ex.id, n_pieces))
            i = k
    return out


# --------------------------------------------------------------------------- loss


def partial_tagger_loss(
    logits: torch.Tensor, targets: torch.Tensor, open_tags: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean negative log-likelihood over words (``IGNORE_INDEX`` positions skipped).

    ``open_tags`` (``[batch, n_tags]`` bool, optional): tags a word gold-tagged ``O`` (id 0) may
    also take in that example (the tags of labels its corpus does not annotate). The word's
    likelihood is then the summed probability of ``O`` and those tags. Without it this is plain
    cross-entropy.
    """
    import torch

    from ..encoder.heads import IGNORE_INDEX

    logp = torch.log_softmax(logits.float(), dim=-1)
    valid = targets != IGNORE_INDEX
    safe = targets.clamp(min=0)
    allowed = torch.nn.functional.one_hot(safe, logits.shape[-1]).bool()
    if open_tags is not None:
        allowed = allowed | ((safe == 0).unsqueeze(-1) & open_tags.unsqueeze(1))
    ll = torch.logsumexp(logp.masked_fill(~allowed, float("-inf")), dim=-1)
    if not bool(valid.any()):
        return logits.sum() * 0.0
    return -(ll[valid]).mean()


# --------------------------------------------------------------------------- evaluation


def _task_metrics(report: Any) -> dict[str, Any]:
    """Compact JSON-able strict scores: micro P/R/F1 and per-label P/R/F1/support."""
    d = report.to_dict()
    return {
        "n_docs": d["n_docs"],
        "strict": {k: d["strict"][k] for k in ("precision", "recall", "f1", "support")},
        "per_label": {
            lab: {k: v[k] for k in ("precision", "recall", "f1", "support")}
            for lab, v in d["per_label"].items()
        },
    }


def predict_examples(
    encoder: LoadedEncoder,
    head: WordTagger,
    examples: Sequence[Example],
    settings: WindowSettings,
    chunk: int = 16,
) -> list[list[tuple[int, int, str, float]]]:
    """Head predictions for full notes (inference path: windows with stride, eval mode)."""
    from ..encoder.windows import encode_notes

    preds: list[list[tuple[int, int, str, float]]] = []
    for b in range(0, len(examples), chunk):
        texts = [ex.text for ex in examples[b : b + chunk]]
        encoded = encode_notes(encoder, texts, settings=settings)
        preds.extend(head.predict_many(encoded, texts))
    return preds


def score_predictions(
    examples: Sequence[Example], preds: Sequence[Sequence[tuple[Any, ...]]]
) -> dict[str, Any]:
    """Strict P/R/F1 (per label and micro) of predictions against every gold span."""
    from ..evaluation.deid import evaluate

    gold = {ex.id: ex.spans for ex in examples}
    pred = {
        ex.id: [(int(p[0]), int(p[1]), str(p[2])) for p in ps] for ex, ps in zip(examples, preds, strict=True)
    }
    return _task_metrics(evaluate(gold, pred))


def phi_with_rules(
    examples: Sequence[Example],
    model_preds: Sequence[Sequence[tuple[int, int, str, float]]],
    languages: Sequence[str],
    merge: str = "score",
    model_min_score: float = 0.5,
) -> dict[str, Any]:
    """Score the ``alia_deid`` merge (rules + model candidates, same policy as the stage)."""
    from ..deid.rules import PhiMatch, RuleEngine
    from ..pipeline.deid import MODEL_SOURCE, merge_candidates

    engine = RuleEngine(list(languages), min_score=0.5, labels=None)
    rule_sources = frozenset(engine.sources)
    merged = []
    for ex, preds in zip(examples, model_preds, strict=True):
        cands = engine.analyze(ex.text) + [PhiMatch(s, e, lab, sc, MODEL_SOURCE) for s, e, lab, sc in preds]
        kept = merge_candidates(cands, merge, rule_sources=rule_sources, other_min_score=model_min_score)
        merged.append([(m.start, m.end, m.label) for m in kept])
    return score_predictions(examples, merged)


# --------------------------------------------------------------------------- pipeline output


def build_pipeline(
    cfg: TrainConfig,
    encoder: LoadedEncoder,
    heads: dict[str, WordTagger],
    task_component: dict[str, str],
    memory: LabelMemory | None = None,
) -> Language:
    """Assemble the output pipeline around the (fine-tuned) encoder and the task heads
    (``memory``: ``alia_ner``'s label memory, see :func:`ner_label_memory`)."""
    import spacy

    from ..pipeline import deid as _deid  # noqa: F401  (registers the factories)
    from ..pipeline import encoder as _encoder  # noqa: F401
    from ..pipeline import ner as _ner  # noqa: F401
    from ..pipeline import tokenizer as _tokenizer  # noqa: F401

    nlp = spacy.blank(cfg.lang, config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}, "batch_size": 32}})
    enc_cfg = {
        "max_length": cfg.max_length,
        "stride": cfg.stride,
        "window_batch_size": cfg.eval_batch_size,
        "pooling": cfg.pooling,
        "device": "cpu",
        "bf16": "auto",
        "num_threads": 0,
        "save_dtype": cfg.save_dtype,
        **cfg.components.get("alia_encoder", {}),
    }
    nlp.add_pipe("alia_encoder", config=enc_cfg).set_encoder(encoder)  # type: ignore[attr-defined]
    by_component = {comp: heads[task] for task, comp in task_component.items()}
    deid = nlp.add_pipe("alia_deid", config=cfg.components.get("alia_deid", {}))
    deid.initialize()  # type: ignore[attr-defined]
    if "alia_deid" in by_component:
        deid.set_head(by_component["alia_deid"])  # type: ignore[attr-defined]
    if "alia_ner" in by_component:
        ner = nlp.add_pipe("alia_ner", config=cfg.components.get("alia_ner", {}))
        ner.set_head(by_component["alia_ner"])  # type: ignore[attr-defined]
        ner.set_label_memory(memory)  # type: ignore[attr-defined]
    return nlp


def ner_label_memory(cfg: TrainConfig, data: TrainingData) -> LabelMemory | None:
    """The label memory of the ``alia_ner`` task, from its training documents only (None: no such
    task, or ``label_memory = false`` in the component's config)."""
    task = next((t for t in cfg.tasks if t.component == "alia_ner"), None)
    if task is None or not cfg.components.get("alia_ner", {}).get("label_memory", True):
        return None
    from .label_memory import task_label_memory

    return task_label_memory(data.tasks[task.name], task.sources.train)


def _meta(cfg: TrainConfig, data: TrainingData, scores: dict[str, Any], base: str) -> dict[str, Any]:
    """``meta.json`` fields: name, version, description, data sources and dev scores."""
    from .corpora import corpus_spec

    sources = sorted({s for t in cfg.tasks for s in [*t.sources.train, *t.sources.dev]})
    corpora = sorted({s.split("/", 1)[0] for s in sources})
    return {
        "name": cfg.name,
        "version": __version__,
        "description": (
            f"alia_clin multitask pipeline ({', '.join(t.name for t in cfg.tasks)}) fine-tuned from {base}"
        ),
        "author": "alia_clin developers",
        "sources": [{"name": c, "license": corpus_spec(c).license} for c in corpora],
        "performance": {
            f"{task}_dev_strict_f1": round(float(sc["strict"]["f1"]), 4) for task, sc in scores.items()
        },
        "requirements": [f"alia-clin>={__version__}"],
    }


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / METRICS_FILE).is_file():
        raise AliaClinValueError(ErrorCode.E136, path=str(out_dir))


def save_pipeline(nlp: Language, out_dir: Path, metrics: dict[str, Any], log_path: Path | None) -> None:
    """Write the pipeline + ``training_metrics.json`` (+ the log so far) atomically to ``out_dir``."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    _check_out_dir(out_dir)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        nlp.to_disk(tmp)
        _write_json(tmp / METRICS_FILE, metrics)
        if log_path is not None and log_path.is_file():
            shutil.copyfile(log_path, tmp / LOG_FILE)
        for f in tmp.rglob("*"):  # mkdtemp and some writers create owner-only files
            f.chmod(0o755 if f.is_dir() else 0o644)
        tmp.chmod(0o755)
        old = None
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n", encoding="utf-8")


def dir_size_bytes(path: Path) -> int:
    """Total size of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --------------------------------------------------------------------------- trainer


@dataclass
class _TaskState:
    name: str
    component: str
    weight: float
    head: WordTagger
    train: list[Segment]
    dev: list[Example]
    open_tags: dict[frozenset[str] | None, list[bool]] = field(default_factory=dict)


class _Log:
    """Append JSON lines to the live metrics log (and mirror key events to the logger)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("", encoding="utf-8")

    def write(self, event: str, **data: Any) -> None:
        if self.path is None:
            return
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(
                json.dumps({"event": event, "time": round(time.time(), 3), **data}, ensure_ascii=False) + "\n"
            )


def _open_tags(head: WordTagger, annotated: frozenset[str] | None) -> list[bool]:
    if annotated is None:
        return [False] * len(head.tags)
    return [tag != "O" and tag[2:] not in annotated for tag in head.tags]


def _schedule(n_batches: dict[str, int]) -> list[str]:
    """Tasks of one epoch's steps: each task's batches spread evenly, interleaved by position."""
    keyed = [((i + 0.5) / n, k, name) for k, (name, n) in enumerate(n_batches.items()) for i in range(n)]
    return [name for _, _, name in sorted(keyed)]


def _batches(
    segments: Sequence[Segment], batch_size: int, rng: random.Random, pool: int = 32
) -> list[list[Segment]]:
    """Shuffled batches of segments of similar length (less padding): shuffle, sort each pool of
    ``pool`` batches by length, cut into batches, shuffle the batches."""
    segs = list(segments)
    rng.shuffle(segs)
    size = batch_size * pool
    batches: list[list[Segment]] = []
    for p in range(0, len(segs), size):
        chunk = sorted(segs[p : p + size], key=lambda s: s.n_pieces)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def _param_groups(encoder_model: Any, heads: Sequence[Any], cfg: TrainConfig) -> list[dict[str, Any]]:
    def split(module: Any) -> tuple[list[Any], list[Any]]:
        decay: list[Any] = []
        no_decay: list[Any] = []
        for name, p in module.named_parameters():
            if not p.requires_grad:
                continue
            (no_decay if p.ndim < 2 or "norm" in name.lower() or name.endswith("bias") else decay).append(p)
        return decay, no_decay

    groups = []
    enc_d, enc_n = split(encoder_model)
    groups += [
        {"params": enc_d, "lr": cfg.lr_encoder, "weight_decay": cfg.weight_decay, "base_lr": cfg.lr_encoder},
        {"params": enc_n, "lr": cfg.lr_encoder, "weight_decay": 0.0, "base_lr": cfg.lr_encoder},
    ]
    for h in heads:
        hd, hn = split(h)
        groups += [
            {"params": hd, "lr": cfg.lr_heads, "weight_decay": cfg.weight_decay, "base_lr": cfg.lr_heads},
            {"params": hn, "lr": cfg.lr_heads, "weight_decay": 0.0, "base_lr": cfg.lr_heads},
        ]
    return [g for g in groups if g["params"]]


def set_attention_dropout(model: Any, p: float) -> int:
    """Set the attention-probability dropout of every attention module (BERT/RoBERTa family:
    ``SelfAttention.dropout``; ModernBERT: ``attention_dropout``) and the config. Returns the
    number of modules changed."""
    import torch

    changed = 0
    for mod in model.modules():
        name = type(mod).__name__
        if "SelfAttention" in name and isinstance(getattr(mod, "dropout", None), torch.nn.Dropout):
            mod.dropout.p = p
            changed += 1
        elif "Attention" in name and isinstance(getattr(mod, "attention_dropout", None), float):
            mod.attention_dropout = p
            changed += 1
    for key in ("attention_probs_dropout_prob", "attention_dropout"):
        if hasattr(model.config, key):
            setattr(model.config, key, p)
    return changed


def encoder_layers(model: Any) -> Any:
    """The list of transformer layers of a BERT/XLM-R/RoBERTa (``encoder.layer``) or ModernBERT
    (``layers``) model. Raises ``E130`` for another layout."""
    import torch

    for path in (("encoder", "layer"), ("layers",)):
        obj: Any = model
        for attr in path:
            obj = getattr(obj, attr, None)
        if isinstance(obj, torch.nn.ModuleList):
            return obj
    raise AliaClinValueError(
        ErrorCode.E130, path="<config>", reason=f"freeze_layers: no layer list in {type(model).__name__}"
    )


def freeze_bottom_layers(model: Any, n: int) -> int:
    """Freeze the input embeddings and the first ``n`` transformer layers (``requires_grad``
    off); returns the number of frozen parameters. Nothing below the first trainable layer then
    needs gradients, so autograd neither stores its activations nor runs its backward: with 8 of
    12 layers frozen, a training step costs about 20 layer-passes instead of 36. Raises ``E130``
    when the model has fewer than ``n`` layers."""
    if n <= 0:
        return 0
    layers = encoder_layers(model)
    if n > len(layers):
        raise AliaClinValueError(
            ErrorCode.E130,
            path="<config>",
            reason=f"freeze_layers = {n} but the model has {len(layers)} layers",
        )
    frozen = 0
    modules = [model.get_input_embeddings(), getattr(model, "embeddings", None), *list(layers)[:n]]
    for mod in modules:
        if mod is None:
            continue
        for p in mod.parameters():
            if p.requires_grad:
                p.requires_grad_(False)
                frozen += p.numel()
    return frozen


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train(
    cfg: TrainConfig,
    out_dir: str | Path,
    *,
    data: TrainingData | None = None,
    log_path: str | Path | None = None,
) -> dict[str, Any]:
    """Fine-tune the encoder and heads of ``cfg``; write the best pipeline to ``out_dir``.

    ``data`` (optional) replaces reading the corpora (tests); ``log_path``: the live JSONL
    log (default ``<out_dir>.train.jsonl``). Returns the final ``training_metrics.json`` content.
    Raises ``E130`` (config), ``E131``–``E134`` (corpora), ``E136`` (``out_dir`` is something
    else), and the encoder loading errors.
    """
    import torch

    from ..encoder.heads import IGNORE_INDEX, WordTagger
    from ..encoder.loading import load_encoder
    from ..encoder.windows import WindowSettings, word_states

    cfg.validate()
    out = Path(out_dir)
    _check_out_dir(out)
    if not cfg.base_model:
        raise AliaClinValueError(ErrorCode.E130, path=cfg.source_path or "<config>", reason="no base_model")
    log = _Log(Path(log_path) if log_path is not None else out.with_name(out.name + ".train.jsonl"))
    t_start = time.monotonic()
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    _seed_everything(cfg.seed)

    if data is None:
        root = Path(cfg.corpora) if cfg.corpora else default_corpora_root()
        data = build_training_data(root, {t.name: t.sources for t in cfg.tasks})
    encoder = load_encoder(cfg.base_model, revision=cfg.revision, device=cfg.device)
    base_sha = encoder.weights_sha256
    model = encoder.model
    if cfg.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if cfg.attention_dropout is not None:
        set_attention_dropout(model, cfg.attention_dropout)
    freeze_bottom_layers(model, cfg.freeze_layers)
    train_settings = WindowSettings(
        max_length=cfg.max_length,
        stride=cfg.stride,
        batch_size=cfg.batch_size,
        pooling=cfg.pooling,
        bf16=cfg.bf16,
    )
    eval_settings = WindowSettings(
        max_length=cfg.max_length,
        stride=cfg.stride,
        batch_size=cfg.eval_batch_size,
        pooling=cfg.pooling,
        bf16=cfg.bf16,
    )
    content = min(cfg.max_length or encoder.max_tokens, encoder.max_tokens) - encoder.n_special

    tasks: dict[str, _TaskState] = {}
    for tc in cfg.tasks:
        td = data.tasks[tc.name]
        torch.manual_seed(cfg.seed + len(tasks) + 1)
        head = WordTagger(
            encoder.hidden_size, td.labels, scheme=cfg.scheme, dropout=cfg.head_dropout, rnn=cfg.head_rnn
        )
        head.to(cfg.device)
        train_notes = with_copies(td.train, case=tc.case_copies, accent=tc.accent_copies)
        segs = make_segments(encoder, train_notes, content)
        tasks[tc.name] = _TaskState(tc.name, tc.component, tc.weight, head, segs, td.dev)
    rng = random.Random(cfg.seed)
    # a task with sample < 1 takes that share of its batches each epoch (ceil: at least one)
    sample = {tc.name: tc.sample for tc in cfg.tasks}
    n_batches = {name: math.ceil(len(t.train) / cfg.batch_size * sample[name]) for name, t in tasks.items()}
    steps_per_epoch = sum(n_batches.values())
    planned = cfg.max_steps or (cfg.max_epochs * steps_per_epoch if cfg.max_epochs else 0)
    budget_s = cfg.max_minutes * 60.0
    params = _param_groups(model, [t.head for t in tasks.values()], cfg)
    optimizer = torch.optim.AdamW(params, lr=cfg.lr_encoder)
    trainable = sum(p.numel() for g in params for p in g["params"])
    summary_cfg = {k: v for k, v in asdict(cfg).items() if k not in ("tasks", "source_path")}
    summary_cfg["base_model"] = Path(str(cfg.base_model)).name if cfg.revision is None else cfg.base_model
    summary_cfg["corpora"] = None
    summary_cfg["tasks"] = {
        t.name: {**{k: v for k, v in asdict(t).items() if k not in ("name", "sources")}, **asdict(t.sources)}
        for t in cfg.tasks
    }
    log.write(
        "start",
        config=summary_cfg,
        data=data.report,
        segments={n: len(t.train) for n, t in tasks.items()},
        steps_per_epoch=steps_per_epoch,
        trainable_parameters=trainable,
        base_sha256=base_sha,
    )
    logger.info(
        "training %d tasks, %d steps per epoch, %d trainable parameters",
        len(tasks),
        steps_per_epoch,
        trainable,
    )

    task_component = {n: t.component for n, t in tasks.items()}
    memory = ner_label_memory(cfg, data)
    phi_task = next((n for n, t in tasks.items() if t.component == "alia_deid"), None)
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"mean_f1": -1.0}
    best_preds: dict[str, list[Any]] = {}
    step = 0
    epoch = 0
    train_time = 0.0
    last_eval_at = 0.0
    last_eval_step = -1
    # time kept for the final evaluation and save; re-estimated after every evaluation
    reserve_s = min(0.15 * budget_s, 300.0)
    bad_evals = 0
    stop_reason = ""
    running: dict[str, list[float]] = {n: [] for n in tasks}

    def evaluate_now() -> None:
        nonlocal best, bad_evals, reserve_s, last_eval_at, last_eval_step, best_preds
        t0 = time.monotonic()
        model.eval()
        scores: dict[str, Any] = {}
        preds_now: dict[str, list[Any]] = {}
        for name, t in tasks.items():
            preds_now[name] = predict_examples(encoder, t.head, t.dev, eval_settings, cfg.eval_batch_size)
            scores[name] = score_predictions(t.dev, preds_now[name])
        mean_f1 = float(np.mean([s["strict"]["f1"] for s in scores.values()]))
        eval_s = time.monotonic() - t0
        improved = mean_f1 > best["mean_f1"]
        record = {
            "step": step,
            "epoch": epoch,
            "elapsed_min": round((time.monotonic() - t_start) / 60, 2),
            "mean_f1": mean_f1,
            "tasks": scores,
            "eval_s": round(eval_s, 1),
            "best": improved,
        }
        history.append(
            {k: record[k] for k in ("step", "epoch", "elapsed_min", "mean_f1")}
            | {"f1": {n: s["strict"]["f1"] for n, s in scores.items()}}
        )
        log.write("eval", **record)
        logger.info(
            "step %d: dev mean strict F1 %.4f %s",
            step,
            mean_f1,
            {n: round(s["strict"]["f1"], 4) for n, s in scores.items()},
        )
        save_s = 0.0
        if improved:
            best = {k: record[k] for k in ("step", "epoch", "elapsed_min", "mean_f1", "tasks")}
            best_preds = preds_now
            bad_evals = 0
            t1 = time.monotonic()
            nlp = build_pipeline(cfg, encoder, {n: t.head for n, t in tasks.items()}, task_component, memory)
            nlp.meta.update(_meta(cfg, data, scores, summary_cfg["base_model"]))
            save_pipeline(nlp, out, _metrics("running"), log.path)
            save_s = time.monotonic() - t1
            log.write("save", step=step, seconds=round(save_s, 1))
        else:
            bad_evals += 1
        reserve_s = 1.25 * (eval_s + save_s) + (25.0 if phi_task else 5.0)
        last_eval_at = train_time
        last_eval_step = step
        model.train()

    def _metrics(status: str) -> dict[str, Any]:
        return {
            "name": cfg.name,
            "version": __version__,
            "status": status,
            "stopped_reason": stop_reason,
            "base_model": summary_cfg["base_model"],
            "base_sha256": base_sha,
            "config": summary_cfg,
            "data": data.report if data is not None else {},
            "steps": step,
            "epochs_completed": epoch,
            "train_minutes": round(train_time / 60, 2),
            "elapsed_minutes": round((time.monotonic() - t_start) / 60, 2),
            "trainable_parameters": trainable,
            "best": best,
            "history": history,
        }

    model.train()
    done = False
    while not done:
        order = _schedule(n_batches)
        queues: dict[str, list[list[Segment]]] = {}
        for name, t in tasks.items():
            # shuffled; a task with sample < 1 uses only the n_batches[name] popped this epoch
            queues[name] = _batches(t.train, cfg.batch_size, rng)
        for name in order:
            batch = queues[name].pop()
            t = tasks[name]
            t0 = time.monotonic()
            lr_scale = min(1.0, (step + 1) / max(1, cfg.warmup_steps))
            progress = step / planned if planned else 0.0
            if budget_s > 0:
                progress = max(progress, (time.monotonic() - t_start) / budget_s)
            lr_scale *= max(0.0, 1.0 - progress)
            for g in optimizer.param_groups:
                g["lr"] = g["base_lr"] * lr_scale
            t.head.train()
            wb = word_states(encoder, [s.text for s in batch], settings=train_settings)
            logits = t.head(wb.states, wb.mask)
            targets = t.head.collate_targets(
                [t.head.targets(words, seg.spans) for words, seg in zip(wb.words, batch, strict=True)],
                wb.states.shape[1],
            ).to(logits.device)
            targets[~wb.mask] = IGNORE_INDEX
            open_tags = None
            if cfg.partial_labels and any(seg.annotated is not None for seg in batch):
                rows = [
                    t.open_tags.setdefault(seg.annotated, _open_tags(t.head, seg.annotated)) for seg in batch
                ]
                open_tags = torch.tensor(rows, dtype=torch.bool, device=logits.device)
            loss = partial_tagger_loss(logits, targets, open_tags) * t.weight
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_([p for g in params for p in g["params"]], cfg.grad_clip)
            optimizer.step()
            step += 1
            dt = time.monotonic() - t0
            train_time += dt
            running[name].append(float(loss.detach()))
            if cfg.log_every_steps and step % cfg.log_every_steps == 0:
                log.write(
                    "step",
                    step=step,
                    epoch=epoch,
                    loss={n: round(float(np.mean(v)), 5) for n, v in running.items() if v},
                    lr_scale=round(lr_scale, 5),
                    elapsed_min=round((time.monotonic() - t_start) / 60, 2),
                    step_s=round(dt, 3),
                )
                running = {n: [] for n in tasks}
            if cfg.max_steps and step >= cfg.max_steps:
                stop_reason, done = "max_steps", True
                break
            if budget_s > 0 and time.monotonic() - t_start + reserve_s >= budget_s:
                stop_reason, done = "max_minutes", True
                break
            due = (cfg.eval_every_steps and step % cfg.eval_every_steps == 0) or (
                cfg.eval_every_minutes and train_time - last_eval_at >= cfg.eval_every_minutes * 60
            )
            if due:
                evaluate_now()
                if cfg.patience and bad_evals >= cfg.patience:
                    stop_reason, done = "patience", True
                    break
                if budget_s > 0 and time.monotonic() - t_start + reserve_s >= budget_s:
                    stop_reason, done = "max_minutes", True
                    break
        else:
            epoch += 1
            if cfg.max_epochs and epoch >= cfg.max_epochs:
                stop_reason, done = "max_epochs", True
    if last_eval_step != step:
        evaluate_now()

    metrics = _metrics("finished")
    if phi_task is not None and phi_task in best_preds:
        deid_cfg = cfg.components.get("alia_deid", {})
        languages = deid_cfg.get("languages", ["es", "ca", "eu", "gl"])
        metrics["best_phi_with_rules"] = phi_with_rules(
            tasks[phi_task].dev,
            best_preds[phi_task],
            languages,
            merge=deid_cfg.get("merge", "score"),
            model_min_score=float(deid_cfg.get("model_min_score", 0.5)),
        )
    metrics["size_bytes"] = dir_size_bytes(out)
    _write_json(out / METRICS_FILE, metrics)
    log.write(
        "end", reason=stop_reason, steps=step, best_mean_f1=best["mean_f1"], size_bytes=metrics["size_bytes"]
    )
    if log.path is not None:
        shutil.copyfile(log.path, out / LOG_FILE)
    logger.info(
        "training stopped (%s) after %d steps; best dev mean F1 %.4f", stop_reason, step, best["mean_f1"]
    )
    return metrics


__all__ = [
    "Segment",
    "TaskSources",
    "build_pipeline",
    "encoder_layers",
    "freeze_bottom_layers",
    "make_segments",
    "partial_tagger_loss",
    "phi_with_rules",
    "predict_examples",
    "save_pipeline",
    "score_predictions",
    "train",
]

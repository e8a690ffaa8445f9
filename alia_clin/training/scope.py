"""Training of the negation/uncertainty scope head on frozen encoder states (NUBes).

Reads NUBes BRAT folders (``<corpora>/nubes/NUBes/SAMPLE-00N``: cue spans ``Neg*Marker`` /
``Uncert*Marker``, scope targets linked to them by ``Scope``/``DiscScope`` relations, cue parts
linked by ``DiscMarker``) and a frozen encoder (any :class:`~alia_clin.encoder.loading.LoadedEncoder`,
given by path); writes a :class:`~alia_clin.encoder.scope_head.ScopeHead` folder. Steps:

1. :func:`read_nubes_scopes`: one :class:`ScopeNote` per ``.txt``/``.ann`` pair, with the
   character spans of the four targets (negation cue / scope, uncertainty cue / scope). A
   scope is every part of the entity or ``Phrase`` a cue's relation points to.
2. :func:`split_blocks` cuts notes into blocks of whole lines (≈ one encoder window each) and
   :func:`select_blocks` keeps a deterministic hashed subset up to a character budget (the CPU
   cost of the frozen encoder pass is what limits training here).
3. :func:`encode_scope_notes`: one ``encode_notes`` pass (the same windows, pooling and
   settings as the ``alia_encoder`` stage), per-word targets (:func:`word_targets`) and the
   sentences the head runs over (:func:`~alia_clin.encoder.scope_head.sentence_words`);
   optionally cached as ``.npz`` (float16 states) keyed by encoder hash, settings and text.
4. :func:`train_scope_head`: masked binary cross-entropy, Adam, fixed seeds, fixed epochs
   (deterministic on CPU).
5. :func:`token_metrics`: word-level P/R/F1 of each target on encoded data.

Only counts, ids and metrics are logged; never note text. E3C must not train the head
(CC BY-NC); only NUBes (CC BY-SA 3.0 ES) is read here.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..encoder.scope_head import SCOPE_TARGETS, ScopeHead, pad_sentences, sentence_words
from ..encoder.windows import EncodedNote, WindowSettings
from ..errors import AliaClinValueError, ErrorCode
from ..io.brat import read_text
from .states import encode_cached

logger = logging.getLogger("alia_clin")

CUE_LABELS = {
    "NegSynMarker": "neg",
    "NegLexMarker": "neg",
    "NegMorMarker": "neg",
    "UncertSynMarker": "unc",
    "UncertLexMarker": "unc",
}
SCOPE_RELATIONS = ("Scope", "DiscScope")
#: NUBes samples of the train part (SAMPLE-010 is the project's dev split).
TRAIN_SAMPLES = tuple(f"SAMPLE-{n:03d}" for n in range(2, 10))
DEV_SAMPLE = "SAMPLE-010"

Spans = list[tuple[int, int]]


@dataclass
class ScopeNote:
    """One note (or block of one) with the character spans of each target of :data:`SCOPE_TARGETS`."""

    id: str
    text: str
    spans: dict[str, Spans] = field(default_factory=dict)


@dataclass
class EncodedScopeNote:
    """A note's frozen word states, per-word targets ``[n_words, 4]`` and sentences."""

    id: str
    encoded: EncodedNote
    targets: np.ndarray
    sentences: list[tuple[int, int]]


@dataclass(frozen=True)
class ScopeTrainConfig:
    """Hyper-parameters of :func:`train_scope_head` (defaults used for the shipped report)."""

    epochs: int = 8
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    proj: int = 128
    rnn: int = 64
    dropout: float = 0.2
    threshold: float = 0.5
    seed: int = 13
    #: torch CPU threads while training (small ops: one thread avoids contention on shared cores).
    num_threads: int = 1


# ------------------------------------------------------------------------------------ reading


def _parse_ann(content: str) -> tuple[dict[str, tuple[str, Spans]], list[tuple[str, str, str]]]:
    spans: dict[str, tuple[str, Spans]] = {}
    rels: list[tuple[str, str, str]] = []
    for line in content.splitlines():
        if line.startswith("T"):
            parts = line.split("\t")
            if len(parts) < 2 or " " not in parts[1]:
                continue
            label, offs = parts[1].split(" ", 1)
            pieces = []
            for p in offs.split(";"):
                a, b = p.split()
                pieces.append((int(a), int(b)))
            spans[parts[0]] = (label, pieces)
        elif line.startswith("R"):
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            fields = parts[1].split()
            if len(fields) == 3 and fields[1].startswith("Arg1:") and fields[2].startswith("Arg2:"):
                rels.append((fields[0], fields[1][5:], fields[2][5:]))
    return spans, rels


def parse_nubes(note_id: str, text: str, ann: str) -> ScopeNote:
    """A :class:`ScopeNote` from one NUBes note and its BRAT annotation content."""
    spans, rels = _parse_ann(ann)
    out: dict[str, Spans] = {t: [] for t in SCOPE_TARGETS}
    for label, parts in spans.values():
        kind = CUE_LABELS.get(label)
        if kind:
            out[f"{kind}_cue"].extend(parts)
    for rel, cue, target in rels:
        if rel not in SCOPE_RELATIONS or cue not in spans or target not in spans:
            continue
        kind = CUE_LABELS.get(spans[cue][0])
        if kind:
            out[f"{kind}_scope"].extend(spans[target][1])
    n = len(text)
    clean = {t: sorted({(a, b) for a, b in v if 0 <= a < b <= n}) for t, v in out.items()}
    return ScopeNote(note_id, text, clean)


def read_nubes_scopes(folder: str | Path) -> list[ScopeNote]:
    """Every annotated note of a NUBes sample folder, sorted by file name (``E721`` if none)."""
    src = Path(folder)
    notes = []
    for ann in sorted(src.glob("*.ann")) if src.is_dir() else []:
        txt = ann.with_suffix(".txt")
        if txt.is_file():
            notes.append(parse_nubes(ann.stem, read_text(txt), ann.read_text(encoding="utf-8")))
    if not notes:
        raise AliaClinValueError(ErrorCode.E721, path=str(src))
    return notes


def split_blocks(note: ScopeNote, max_chars: int = 1500) -> list[ScopeNote]:
    """Cut a note into blocks of whole lines of at most ``max_chars`` (a longer line is one block).

    Offsets are shifted into each block; spans crossing a block edge are clipped to it.
    """
    bounds: list[tuple[int, int]] = []
    start = 0
    pos = 0
    text = note.text
    while pos < len(text):
        nl = text.find("\n", pos)
        line_end = len(text) if nl < 0 else nl + 1
        if line_end - start > max_chars and pos > start:
            bounds.append((start, pos))
            start = pos
        pos = line_end
    if start < len(text):
        bounds.append((start, len(text)))
    blocks = []
    for k, (a, b) in enumerate(bounds):
        spans = {
            t: [(max(s, a) - a, min(e, b) - a) for s, e in v if s < b and a < e]
            for t, v in note.spans.items()
        }
        blocks.append(ScopeNote(f"{note.id}#{k}", text[a:b], spans))
    return blocks


def _hash01(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


def select_blocks(blocks: Sequence[ScopeNote], max_chars: int | None, *, seed: int = 0) -> list[ScopeNote]:
    """A deterministic subset of ``blocks`` (ordered by a seeded hash of the id) up to ``max_chars``.

    ``None`` keeps everything. The result keeps the input order.
    """
    if max_chars is None:
        return list(blocks)
    order = sorted(range(len(blocks)), key=lambda i: _hash01(f"{seed}:{blocks[i].id}"))
    keep: set[int] = set()
    total = 0
    for i in order:
        size = len(blocks[i].text)
        if total + size > max_chars:
            continue
        keep.add(i)
        total += size
    return [b for i, b in enumerate(blocks) if i in keep]


# ------------------------------------------------------------------------------------ encoding


def word_targets(words: Sequence[tuple[int, int]], spans: dict[str, Spans]) -> np.ndarray:
    """``[n_words, 4]`` uint8: 1 where a word overlaps a span of that target."""
    out = np.zeros((len(words), len(SCOPE_TARGETS)), dtype=np.uint8)
    if not len(words):
        return out
    starts = np.asarray([w[0] for w in words], dtype=np.int64)
    ends = np.asarray([w[1] for w in words], dtype=np.int64)
    for j, target in enumerate(SCOPE_TARGETS):
        for s, e in spans.get(target, []):
            out[(starts < e) & (s < ends), j] = 1
    return out


def encode_scope_notes(
    encoder: Any,
    notes: Sequence[ScopeNote],
    *,
    settings: WindowSettings | None = None,
    batch_notes: int = 16,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[EncodedScopeNote]:
    """Encode notes with the frozen ``encoder`` (a ``LoadedEncoder``) and attach targets/sentences.

    ``cache_dir``: reuse/write ``<key>.npz`` files (float16 states, word offsets) keyed by the
    encoder's weights hash, the window settings, the note id and text
    (:func:`~alia_clin.training.states.encode_cached`).
    """
    states = encode_cached(
        encoder,
        [(note.id, note.text) for note in notes],
        settings=settings,
        batch_notes=batch_notes,
        cache_dir=cache_dir,
        progress=progress,
    )
    out = []
    for i, note in enumerate(notes):
        enc = states[i]
        out.append(
            EncodedScopeNote(
                note.id, enc, word_targets(enc.words, note.spans), sentence_words(note.text, enc.words)
            )
        )
    return out


# ------------------------------------------------------------------------------------ training


def _sentence_items(data: Sequence[EncodedScopeNote]) -> list[tuple[np.ndarray, np.ndarray]]:
    items = []
    for note in data:
        for s, e in note.sentences:
            if e > s:
                items.append((note.encoded.states[s:e], note.targets[s:e]))
    return items


def train_scope_head(
    data: Sequence[EncodedScopeNote],
    config: ScopeTrainConfig | None = None,
    *,
    meta: dict[str, Any] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> ScopeHead:
    """Train a :class:`ScopeHead` on encoded notes (frozen states); deterministic for fixed seeds.

    Returns the head in eval mode, with ``meta`` plus a training report (counts, losses,
    seconds) in ``head.meta``. Raises ``E722`` when there is no sentence to train on.
    """
    import torch

    cfg = config or ScopeTrainConfig()
    items = _sentence_items(data)
    if not items:
        raise AliaClinValueError(ErrorCode.E722, reason="no sentence with words")
    hidden = int(items[0][0].shape[1])
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    head = ScopeHead(
        hidden,
        proj=cfg.proj,
        rnn=cfg.rnn,
        dropout=cfg.dropout,
        threshold=cfg.threshold,
        meta=dict(meta or {}),
    )
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    threads = torch.get_num_threads()
    if cfg.num_threads > 0:
        torch.set_num_threads(cfg.num_threads)
    try:
        losses, seconds = _fit(head, opt, items, cfg, rng, log)
    finally:
        torch.set_num_threads(threads)
    head.eval()
    positives = np.sum([c[1].sum(axis=0) for c in items], axis=0).astype(int).tolist()
    head.meta["training"] = {
        "config": asdict(cfg),
        "notes": len(data),
        "sentences": len(items),
        "words": int(sum(len(c[0]) for c in items)),
        "positive_words": dict(zip(SCOPE_TARGETS, positives, strict=True)),
        "epoch_losses": losses,
        "seconds": round(seconds, 1),
    }
    return head


def _fit(
    head: ScopeHead,
    opt: Any,
    items: list[tuple[np.ndarray, np.ndarray]],
    cfg: ScopeTrainConfig,
    rng: random.Random,
    log: Callable[[dict[str, Any]], None] | None,
) -> tuple[list[float], float]:
    """The epochs of :func:`train_scope_head`; returns the mean loss of each epoch and the seconds."""
    import torch

    start = time.perf_counter()
    losses = []
    order = list(range(len(items)))
    head.train()
    for epoch in range(cfg.epochs):
        rng.shuffle(order)
        total, count = 0.0, 0
        for b in range(0, len(order), cfg.batch_size):
            chunk = [items[i] for i in order[b : b + cfg.batch_size]]
            states = torch.as_tensor(np.concatenate([c[0] for c in chunk]), dtype=torch.float32)
            targets = torch.as_tensor(np.concatenate([c[1] for c in chunk]), dtype=torch.float32)
            bounds, pos = [], 0
            for c in chunk:
                bounds.append((pos, pos + len(c[0])))
                pos += len(c[0])
            x, lengths = pad_sentences(states, bounds)
            y, _ = pad_sentences(targets, bounds)
            mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).float().unsqueeze(-1)
            logits = head(x, lengths)
            loss_all = torch.nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
            loss = (loss_all * mask).sum() / (mask.sum() * len(SCOPE_TARGETS))
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(chunk)
            count += len(chunk)
        losses.append(round(total / max(count, 1), 5))
        if log:
            log({"epoch": epoch + 1, "loss": losses[-1], "seconds": round(time.perf_counter() - start, 1)})
    return losses, time.perf_counter() - start


def token_metrics(head: ScopeHead, data: Sequence[EncodedScopeNote]) -> dict[str, dict[str, float | int]]:
    """Word-level P/R/F1 of each target (probability ≥ the head's threshold) over ``data``."""
    tp = np.zeros(len(SCOPE_TARGETS), dtype=np.int64)
    fp = np.zeros_like(tp)
    fn = np.zeros_like(tp)
    for note in data:
        pred = head.probabilities(note.encoded, note.sentences) >= head.threshold
        gold = note.targets.astype(bool)
        tp += (pred & gold).sum(axis=0)
        fp += (pred & ~gold).sum(axis=0)
        fn += (~pred & gold).sum(axis=0)
    out: dict[str, dict[str, float | int]] = {}
    for j, target in enumerate(SCOPE_TARGETS):
        p = tp[j] / (tp[j] + fp[j]) if tp[j] + fp[j] else 0.0
        r = tp[j] / (tp[j] + fn[j]) if tp[j] + fn[j] else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        out[target] = {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "tp": int(tp[j]),
            "fp": int(fp[j]),
            "fn": int(fn[j]),
        }
    return out


def build_scope_head(
    encoder_path: str | Path,
    corpora: str | Path,
    out: str | Path,
    *,
    samples: Sequence[str] = TRAIN_SAMPLES,
    max_chars: int | None = None,
    config: ScopeTrainConfig | None = None,
    settings: WindowSettings | None = None,
    cache_dir: str | Path | None = None,
    policies: dict[str, str] | None = None,
    log: Callable[[dict[str, Any]], None] | None = None,
) -> ScopeHead:
    """Read NUBes ``samples``, encode (frozen ``encoder_path``), train and save a head into ``out``.

    ``max_chars`` caps the training text (hashed block subset, :func:`select_blocks`).
    ``policies`` (``{language: policy}``) is stored with the head; without it every language
    keeps the rules (policies are chosen on dev by ``benchmarks/context_benchmark.py``).
    """
    from ..encoder.loading import load_encoder

    cfg = config or ScopeTrainConfig()
    # the scope head reads the last layer (ScopeHead.probabilities selects it)
    settings = replace(settings or WindowSettings(), layers=(-1,))
    root = Path(corpora) / "nubes" / "NUBes"
    blocks = [b for s in samples for n in read_nubes_scopes(root / s) for b in split_blocks(n)]
    chosen = select_blocks(blocks, max_chars, seed=cfg.seed)
    if log:
        log(
            {
                "stage": "read",
                "blocks": len(blocks),
                "selected": len(chosen),
                "chars": sum(len(b.text) for b in chosen),
            }
        )
    start = time.perf_counter()
    encoder = load_encoder(encoder_path)
    data = encode_scope_notes(
        encoder,
        chosen,
        settings=settings,
        cache_dir=cache_dir,
        progress=(lambda done, total: log({"stage": "encode", "done": done, "total": total}))
        if log
        else None,
    )
    encode_seconds = round(time.perf_counter() - start, 1)
    meta = {
        "encoder_sha256": encoder.weights_sha256,
        "encoder_hidden_size": encoder.hidden_size,
        "window_settings": asdict(settings),
        "data": {
            "corpus": "NUBes (CC BY-SA 3.0 ES)",
            "samples": list(samples),
            "blocks": len(chosen),
            "blocks_available": len(blocks),
            "chars": sum(len(b.text) for b in chosen),
            "max_chars": max_chars,
        },
        "encode_seconds": encode_seconds,
    }
    head = train_scope_head(data, cfg, meta=meta, log=log)
    head.policies = dict(policies or {})
    head.save(out)
    return head

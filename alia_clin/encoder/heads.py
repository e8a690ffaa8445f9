"""Task heads over word-level encoder states.

:class:`WordTagger` reads word states (an :class:`~alia_clin.encoder.windows.EncodedNote` at
inference, a :class:`~alia_clin.encoder.windows.WordBatch` in training) and writes character
spans ``(start, end, label, score)``. It decides **one tag per pre-split word** (BASE-MODEL.md:
≈1.3 F1 points better than per-piece BIO decoding) and merges consecutive words into spans:

* ``scheme="IO"``: tags ``O, I-X…``; consecutive words with the same label form one span.
* ``scheme="BIO"``: tags ``O, B-X, I-X…``; a word starts a new span when ``B-X`` is more
  probable than ``I-X`` (so two adjacent same-label mentions stay apart).

With ``rnn > 0`` a bidirectional GRU runs over each note's word sequence between the
(optional) MLP and the classifier, so a word's tag can depend on its neighbours' states: on
the shipped e5-small encoder this cut fragmented and truncated entities (a head trained on
frozen states, :mod:`alia_clin.training.frozen`). Without it the head is per word and notes
can be stacked freely.

With ``decoding="greedy"`` (the default) a word's label is the argmax over ``P(O)`` and each
label's combined probability (``P(B-X) + P(I-X)``). With ``decoding="viterbi"`` (BIO only) the
tags are the most probable sequence that keeps the BIO grammar
(:func:`~alia_clin.encoder.decoding.bio_viterbi`: no ``I-X`` after ``O`` or another label),
which places span starts and ends better than per-word choices. Either way the span score is
the mean of the label's combined probability over the span's words, and with ``text`` given,
spans never cross a line break.

Weights are saved as safetensors (float32 or float16) next to a JSON file with the label
list and shape (:meth:`WordTagger.save` / :meth:`WordTagger.load`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import AliaClinValueError, ErrorCode
from .decoding import DECODINGS, bio_viterbi
from .windows import EncodedNote, distinct_layers, select_layers

logger = logging.getLogger("alia_clin")

SCHEMES = ("IO", "BIO")
IGNORE_INDEX = -100
HEAD_WEIGHTS = "head.safetensors"
HEAD_CONFIG = "head.json"
#: Most notes, and most padded words, per batch when a GRU head predicts several notes
#: (:meth:`WordTagger.probabilities_many`); a note longer than the word budget runs alone.
NOTE_BATCH = 16
NOTE_BATCH_WORDS = 32_768
_FORMAT = 1

#: A predicted or gold span: ``(start, end, label, score)`` with character offsets.
SpanPrediction = tuple[int, int, str, float]


def build_tags(labels: Sequence[str], scheme: str) -> list[str]:
    """The tag list of a scheme: ``["O", "B-X", "I-X", …]`` (BIO) or ``["O", "I-X", …]`` (IO)."""
    if scheme not in SCHEMES:
        raise AliaClinValueError(ErrorCode.E107, value=scheme, field="scheme", choices=", ".join(SCHEMES))
    tags = ["O"]
    for label in labels:
        tags.extend([f"B-{label}", f"I-{label}"] if scheme == "BIO" else [f"I-{label}"])
    return tags


class WordTagger(nn.Module):
    """Dropout + Linear (or a one-hidden-layer MLP) over word states, one tag per word.

    ``hidden_size``: width of the encoder states; ``labels``: entity labels (no ``O``);
    ``scheme``: ``"IO"`` or ``"BIO"``; ``mlp_hidden``: 0 for a linear head, else the width
    of a GELU hidden layer; ``rnn``: 0 for no sequence layer, else the width per direction
    of a bidirectional GRU over the note's words (after the MLP); ``layers``: the encoder
    layers whose word vectors the head reads, concatenated (``(-1,)``: the last layer;
    ``hidden_size`` is then their total width), picked out of whatever layers the encoder
    stage keeps (:func:`~alia_clin.encoder.windows.select_layers`); ``decoding``: ``"greedy"``
    or ``"viterbi"`` (BIO only), how :meth:`decode` turns word probabilities into spans.
    """

    def __init__(
        self,
        hidden_size: int,
        labels: Sequence[str],
        *,
        scheme: str = "IO",
        dropout: float = 0.1,
        mlp_hidden: int = 0,
        rnn: int = 0,
        layers: Sequence[int] = (-1,),
        decoding: str = "greedy",
    ) -> None:
        super().__init__()
        if decoding not in DECODINGS or (decoding == "viterbi" and scheme != "BIO"):
            raise AliaClinValueError(
                ErrorCode.E107, value=decoding, field="decoding", choices="greedy, or viterbi with scheme BIO"
            )
        self.decoding = decoding
        if len(set(labels)) != len(labels) or "O" in labels:
            raise AliaClinValueError(
                ErrorCode.E107, value="labels", field="labels", choices="unique labels other than 'O'"
            )
        self.hidden_size = int(hidden_size)
        self.layers = distinct_layers(layers)
        self.labels = list(labels)
        self.scheme = scheme
        self.tags = build_tags(self.labels, scheme)
        self.dropout_p = float(dropout)
        self.mlp_hidden = int(mlp_hidden)
        self.rnn_size = int(rnn)
        if self.mlp_hidden < 0 or self.rnn_size < 0:
            raise AliaClinValueError(
                ErrorCode.E107, value="mlp_hidden/rnn", field="head shape", choices="0 or a positive width"
            )
        self.dropout = nn.Dropout(self.dropout_p)
        self.mlp: nn.Module
        if self.mlp_hidden > 0:
            self.mlp = nn.Sequential(
                nn.Linear(self.hidden_size, self.mlp_hidden), nn.GELU(), nn.Dropout(dropout)
            )
            width = self.mlp_hidden
        else:
            self.mlp = nn.Identity()
            width = self.hidden_size
        self.rnn: nn.GRU | None = None
        if self.rnn_size > 0:
            self.rnn = nn.GRU(width, self.rnn_size, batch_first=True, bidirectional=True)
            width = 2 * self.rnn_size
        self.classifier = nn.Linear(width, len(self.tags))
        # Combine tag probabilities into [O, label_1, …] masses: (n_tags, 1 + n_labels).
        combine = torch.zeros(len(self.tags), 1 + len(self.labels))
        for t, tag in enumerate(self.tags):
            combine[t, 0 if tag == "O" else 1 + self.labels.index(tag[2:])] = 1.0
        self.register_buffer("_combine", combine, persistent=False)

    # -- training ----------------------------------------------------------------------------
    @property
    def is_sequential(self) -> bool:
        """Whether a word's tag depends on the other words of its note (a GRU layer)."""
        return self.rnn is not None

    def forward(self, states: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Tag logits ``[..., n_tags]`` for word states ``[..., hidden]``.

        With a GRU layer, ``states`` is one note ``[words, hidden]`` or a padded batch
        ``[batch, words, hidden]``; ``mask`` (``[batch, words]``, True on real words, padding
        at the end) keeps padding out of the backward direction.
        """
        x = self.mlp(self.dropout(states))
        if self.rnn is not None:
            single = x.dim() == 2
            if single:
                x = x.unsqueeze(0)
            if mask is not None and not single and not bool(mask.all()):
                lengths = mask.sum(dim=1).clamp(min=1).cpu()
                packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
                y, _ = self.rnn(packed)
                x, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])
            else:
                x, _ = self.rnn(x)
            x = self.dropout(x)
            if single:
                x = x.squeeze(0)
        return self.classifier(x)

    def targets(self, words: Sequence[tuple[int, int]], spans: Iterable[tuple[Any, ...]]) -> list[int]:
        """Gold tag ids, one per word, from character spans ``(start, end, label, …)``.

        A word overlapping a span takes its label (the first span wins on overlaps); labels
        not in ``self.labels`` are ignored (tag ``O``).
        """
        out = [0] * len(words)
        starts = np.asarray([w[0] for w in words], dtype=np.int64)
        ends = np.asarray([w[1] for w in words], dtype=np.int64)
        unknown = 0
        for span in sorted(spans, key=lambda s: (s[0], s[1])):
            start, end, label = int(span[0]), int(span[1]), str(span[2])
            if label not in self.labels:
                unknown += 1
                continue
            hit = np.nonzero((starts < end) & (start < ends))[0]
            first = True
            for w in hit.tolist():
                if out[w] != 0:
                    continue
                prefix = "B-" if self.scheme == "BIO" and first else "I-"
                out[w] = self.tags.index(prefix + label)
                first = False
        if unknown:
            logger.debug("%d gold spans with labels unknown to the head were ignored", unknown)
        return out

    @staticmethod
    def collate_targets(targets: Sequence[Sequence[int]], width: int) -> torch.Tensor:
        """Pad per-note tag ids into a ``[batch, width]`` tensor with ``IGNORE_INDEX``."""
        out = torch.full((len(targets), width), IGNORE_INDEX, dtype=torch.long)
        for i, t in enumerate(targets):
            out[i, : len(t)] = torch.as_tensor(list(t), dtype=torch.long)
        return out

    # -- inference ---------------------------------------------------------------------------
    @torch.inference_mode()
    def probabilities(self, states: np.ndarray | torch.Tensor) -> np.ndarray:
        """Tag probabilities ``[n_words, n_tags]`` (float32) for one note's word states, in eval
        mode (with a GRU layer the rows are read as one sequence, in order)."""
        was_training = self.training
        self.eval()
        try:
            x = torch.as_tensor(states, dtype=torch.float32)
            param = next(self.parameters())
            x = x.to(param.device, dtype=param.dtype)
            probs = torch.softmax(self(x).float(), dim=-1)
        finally:
            self.train(was_training)
        return probs.cpu().numpy()

    def decode(
        self,
        words: Sequence[tuple[int, int]],
        probs: np.ndarray,
        *,
        text: str | None = None,
    ) -> list[SpanPrediction]:
        """Merge per-word tag probabilities into character spans (see the module docstring)."""
        if len(words) == 0:
            return []
        combine = self.get_buffer("_combine").cpu().numpy()
        mass = probs @ combine  # [n_words, 1 + n_labels]
        if self.scheme == "BIO":
            b_idx = [self.tags.index(f"B-{lab}") for lab in self.labels]
            i_idx = [self.tags.index(f"I-{lab}") for lab in self.labels]
        if self.decoding == "viterbi":
            breaks = None
            if text is not None:
                breaks = np.asarray(
                    [w > 0 and "\n" in text[words[w - 1][1] : words[w][0]] for w in range(len(words))]
                )
            path = bio_viterbi(probs, b_idx, i_idx, breaks)
            # label index + 1 per word (0: O), and whether the word's tag is B-
            choice = combine[path].argmax(axis=1)
            starts_here = np.isin(path, b_idx)
        else:
            choice = mass.argmax(axis=1)
            starts_here = None
        spans: list[SpanPrediction] = []
        cur: list[Any] | None = None  # [start, end, label_index, score_sum, n_words]
        for w, (start, end) in enumerate(words):
            c = int(choice[w])
            if c == 0:
                self._close(cur, spans)
                cur = None
                continue
            lab = c - 1
            begins = cur is None or cur[2] != lab
            if starts_here is not None:
                begins = begins or bool(starts_here[w])
            elif not begins and self.scheme == "BIO" and probs[w, b_idx[lab]] > probs[w, i_idx[lab]]:
                begins = True
            if not begins and text is not None and cur is not None and "\n" in text[cur[1] : start]:
                begins = True
            if begins:
                self._close(cur, spans)
                cur = [start, end, lab, float(mass[w, c]), 1]
            else:
                assert cur is not None
                cur[1] = end
                cur[3] += float(mass[w, c])
                cur[4] += 1
        self._close(cur, spans)
        return spans

    def _close(self, cur: list[Any] | None, spans: list[SpanPrediction]) -> None:
        if cur is not None:
            spans.append((int(cur[0]), int(cur[1]), self.labels[cur[2]], round(cur[3] / cur[4], 6)))

    def predict(self, encoded: EncodedNote, *, text: str | None = None) -> list[SpanPrediction]:
        """Spans for one encoded note. Raises ``E109`` if the encoder does not keep the head's
        layers or the state width does not match."""
        if not encoded.n_words:
            return []
        return self.decode(encoded.words, self.probabilities(self.inputs(encoded)), text=text)

    def inputs(self, encoded: EncodedNote) -> np.ndarray:
        """The head's input states of one note: its layers' columns (``E109`` when missing)."""
        return select_layers(encoded, self.layers, self.hidden_size)

    @torch.inference_mode()
    def probabilities_many(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        """:meth:`probabilities` for several notes' input states (``[n_words, hidden]`` each).

        Without a GRU layer all words go through one forward. With one, notes of similar length
        are batched (sorted by length; at most :data:`NOTE_BATCH` notes and
        :data:`NOTE_BATCH_WORDS` padded words a batch; the padding masked out of the GRU's
        backward direction): far fewer sequential steps than one note at a time, and the same
        probabilities up to float rounding (≈ 1e-7).
        """
        n_tags = len(self.tags)
        if not inputs:
            return []
        if not self.is_sequential:
            lengths = [len(x) for x in inputs]
            stacked = np.concatenate(
                [np.asarray(x, np.float32).reshape(-1, self.hidden_size) for x in inputs]
            )
            probs = self.probabilities(stacked) if len(stacked) else np.zeros((0, n_tags), np.float32)
            bounds = np.cumsum([0, *lengths])
            return [probs[bounds[i] : bounds[i + 1]] for i in range(len(inputs))]
        out: list[np.ndarray] = [np.zeros((0, n_tags), np.float32)] * len(inputs)
        order = sorted((i for i, x in enumerate(inputs) if len(x)), key=lambda i: len(inputs[i]))
        batches: list[list[int]] = []
        for i in order:  # ascending lengths: the note being added is the batch's longest
            last = batches[-1] if batches else []
            if 0 < len(last) < NOTE_BATCH and (len(last) + 1) * len(inputs[i]) <= NOTE_BATCH_WORDS:
                last.append(i)
            else:
                batches.append([i])
        was_training = self.training
        self.eval()
        try:
            param = next(self.parameters())
            for idx in batches:
                if len(idx) == 1:
                    out[idx[0]] = self.probabilities(inputs[idx[0]])
                    continue
                width = max(len(inputs[i]) for i in idx)
                x = torch.zeros(len(idx), width, self.hidden_size, dtype=torch.float32)
                mask = torch.zeros(len(idx), width, dtype=torch.bool)
                for r, i in enumerate(idx):
                    x[r, : len(inputs[i])] = torch.as_tensor(inputs[i], dtype=torch.float32)
                    mask[r, : len(inputs[i])] = True
                x = x.to(param.device, dtype=param.dtype)
                probs = torch.softmax(self(x, mask.to(param.device)).float(), dim=-1).cpu().numpy()
                for r, i in enumerate(idx):
                    out[i] = probs[r, : len(inputs[i])]
        finally:
            self.train(was_training)
        return out

    def predict_many(
        self, encoded: Sequence[EncodedNote], texts: Sequence[str] | None = None
    ) -> list[list[SpanPrediction]]:
        """:meth:`predict` for several notes (their words batched: :meth:`probabilities_many`)."""
        if not encoded:
            return []
        empty = np.zeros((0, self.hidden_size), np.float32)
        probs = self.probabilities_many([self.inputs(e) if e.n_words else empty for e in encoded])
        return [
            self.decode(e.words, p, text=texts[i] if texts else None) if e.n_words else []
            for i, (e, p) in enumerate(zip(encoded, probs, strict=True))
        ]

    # -- serialization -----------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-able description of the head (everything but the weights)."""
        return {
            "format": _FORMAT,
            "kind": "word_tagger",
            "hidden_size": self.hidden_size,
            "labels": self.labels,
            "scheme": self.scheme,
            "tags": self.tags,
            "dropout": self.dropout_p,
            "mlp_hidden": self.mlp_hidden,
            "rnn": self.rnn_size,
            "layers": list(self.layers),
            "decoding": self.decoding,
        }

    def save(self, path: str | Path, *, dtype: str = "float32") -> None:
        """Write ``head.safetensors`` (``float32`` or ``float16``) and ``head.json`` into ``path``."""
        write_head_files(
            self, path, self.config(), weights=HEAD_WEIGHTS, config_name=HEAD_CONFIG, dtype=dtype
        )

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> WordTagger:
        """Load a head written by :meth:`save` (weights come back as float32, eval mode)."""
        src = Path(path)
        cfg, state = read_head_files(
            src, weights=HEAD_WEIGHTS, config_name=HEAD_CONFIG, kind="word_tagger", fmt=_FORMAT
        )
        head = cls(
            cfg["hidden_size"],
            cfg["labels"],
            scheme=cfg["scheme"],
            dropout=cfg.get("dropout", 0.1),
            mlp_hidden=cfg.get("mlp_hidden", 0),
            rnn=cfg.get("rnn", 0),
            layers=cfg.get("layers", [-1]),
            decoding=cfg.get("decoding", "greedy"),
        )
        if head.tags != cfg.get("tags", head.tags):
            raise AliaClinValueError(ErrorCode.E106, path=str(src), reason="tag list does not match labels")
        load_head_weights(head, state, src)
        head.to(device)
        return head


def write_head_files(
    module: nn.Module,
    out_dir: str | Path,
    config: dict[str, Any],
    *,
    weights: str,
    config_name: str,
    dtype: str,
) -> None:
    """Write ``module``'s weights as safetensors (``float32`` or ``float16``) and ``config`` as JSON
    into ``out_dir`` (the storage of every head: :class:`WordTagger`, the scope head)."""
    from safetensors.torch import save_file

    if dtype not in ("float32", "float16"):
        raise AliaClinValueError(ErrorCode.E107, value=dtype, field="dtype", choices="float32, float16")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = getattr(torch, dtype)
    state = {k: v.detach().to("cpu", dtype=target).contiguous() for k, v in module.state_dict().items()}
    save_file(state, str(out / weights), metadata={"format": "pt"})
    text = json.dumps(config, ensure_ascii=False, indent=2, sort_keys=True)
    (out / config_name).write_text(text + "\n", encoding="utf8")


def read_head_files(
    src: Path, *, weights: str, config_name: str, kind: str, fmt: int
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """Read a head written by :func:`write_head_files`: its JSON config (checked to be ``kind`` of
    format ``fmt``) and its weights; ``E106`` when missing or invalid."""
    from safetensors.torch import load_file

    try:
        cfg = json.loads((src / config_name).read_text(encoding="utf8"))
        state = load_file(str(src / weights))
    except (OSError, ValueError) as exc:
        raise AliaClinValueError(ErrorCode.E106, path=str(src), reason=type(exc).__name__) from exc
    if cfg.get("kind") != kind or cfg.get("format") != fmt:
        raise AliaClinValueError(ErrorCode.E106, path=str(src), reason=f"not a {kind} head of format {fmt}")
    return cfg, state


def load_head_weights(module: nn.Module, state: dict[str, torch.Tensor], src: Path) -> None:
    """Load ``state`` into ``module`` as float32 (``E106`` if it does not fit) and set eval mode."""
    try:
        module.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as exc:
        raise AliaClinValueError(ErrorCode.E106, path=str(src), reason="weights do not fit") from exc
    module.eval()


def tagger_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    *,
    class_weights: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean cross-entropy over words; positions with ``IGNORE_INDEX`` (padding) are skipped.

    ``logits``: ``[batch, words, n_tags]``; ``targets``: ``[batch, words]`` tag ids.
    """
    return nn.functional.cross_entropy(
        logits.reshape(-1, logits.shape[-1]).float(),
        targets.reshape(-1).to(logits.device),
        weight=class_weights,
        ignore_index=IGNORE_INDEX,
        label_smoothing=label_smoothing,
    )

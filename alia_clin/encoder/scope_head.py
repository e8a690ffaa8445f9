"""A negation/uncertainty **scope head** over frozen word-level encoder states.

:class:`ScopeHead` reads the word states of one note (an
:class:`~alia_clin.encoder.windows.EncodedNote`, as ``alia_encoder`` leaves them) and the
note's sentences (word ranges), and writes, per word, the probability of four independent
targets (:data:`SCOPE_TARGETS`): being a negation cue, inside a negation scope, an
uncertainty cue, inside an uncertainty scope (NUBes' annotation scheme).

Architecture: a projection (Linear + GELU + dropout) of each word state, a one-layer
bidirectional GRU run over each sentence (so a cue's effect can travel to the words of its
scope, which a per-word classifier on frozen states cannot see), and a Linear layer to four
sigmoid outputs. The encoder itself is never updated: the head trains on frozen states
(:mod:`alia_clin.training.scope`), which is what a CPU-only machine can afford.

:func:`entity_decisions` turns word probabilities into one decision per entity (mean scope
probability over the entity's words against ``threshold``), and :func:`sentence_words` gives
the sentences the head runs over (the ConText splitter over the encoder's own words, so
training and inference cut notes the same way).

Weights are saved as safetensors next to a JSON file (``scope_head.json``) holding the shape,
the threshold, the per-language combination policies chosen on dev, the SHA-256 of the
encoder weights the head was trained on and the training report (counts, no text).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..errors import AliaClinValueError, ErrorCode
from .heads import load_head_weights, read_head_files, write_head_files
from .windows import EncodedNote, select_layers

logger = logging.getLogger("alia_clin")

#: Per-word targets, in output order.
SCOPE_TARGETS = ("neg_cue", "neg_scope", "unc_cue", "unc_scope")
NEG_CUE, NEG_SCOPE, UNC_CUE, UNC_SCOPE = range(4)
HEAD_WEIGHTS = "scope_head.safetensors"
HEAD_CONFIG = "scope_head.json"
_FORMAT = 1
_KIND = "scope_head"


class ScopeHead(nn.Module):
    """Projection + BiGRU over sentence word states + four sigmoid outputs per word.

    ``hidden_size``: width of the encoder states; ``proj``: width of the projection;
    ``rnn``: GRU width per direction (0: no GRU, a per-word MLP); ``dropout``: on the
    projection; ``threshold``: probability at which a word/entity counts as in scope.
    ``policies``: ``{language: policy}`` chosen on dev (see :mod:`alia_clin.context.combine`);
    ``meta``: provenance (encoder hash, training report), JSON-able.
    """

    def __init__(
        self,
        hidden_size: int,
        *,
        proj: int = 128,
        rnn: int = 64,
        dropout: float = 0.1,
        threshold: float = 0.5,
        policies: dict[str, str] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if hidden_size < 1 or proj < 1 or rnn < 0 or not 0.0 < threshold < 1.0:
            raise AliaClinValueError(
                ErrorCode.E720, field="shape/threshold", reason="sizes must be positive, threshold in (0, 1)"
            )
        self.hidden_size = int(hidden_size)
        self.proj_size = int(proj)
        self.rnn_size = int(rnn)
        self.dropout_p = float(dropout)
        self.threshold = float(threshold)
        self.policies: dict[str, str] = dict(policies or {})
        self.meta: dict[str, Any] = dict(meta or {})
        self.proj = nn.Sequential(nn.Linear(self.hidden_size, self.proj_size), nn.GELU(), nn.Dropout(dropout))
        self.rnn: nn.GRU | None = None
        width = self.proj_size
        if self.rnn_size > 0:
            self.rnn = nn.GRU(self.proj_size, self.rnn_size, batch_first=True, bidirectional=True)
            width = 2 * self.rnn_size
        self.out = nn.Linear(width, len(SCOPE_TARGETS))

    # -- forward -----------------------------------------------------------------------------
    def forward(self, states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Logits ``[batch, words, 4]`` for padded sentence states ``[batch, words, hidden]``.

        ``lengths``: real words per sentence (CPU int64); padding positions get logits too
        and must be masked by the caller.
        """
        x = self.proj(states)
        if self.rnn is not None:
            packed = nn.utils.rnn.pack_padded_sequence(
                x, lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            y, _ = self.rnn(packed)
            x, _ = nn.utils.rnn.pad_packed_sequence(y, batch_first=True, total_length=states.shape[1])
        return self.out(x)

    @torch.inference_mode()
    def probabilities(self, encoded: EncodedNote, sentences: Sequence[tuple[int, int]]) -> np.ndarray:
        """Per-word probabilities ``[n_words, 4]`` (float32) for one note, in eval mode.

        ``sentences``: word ranges ``[start, end)`` over ``encoded.words``; words outside
        every sentence get zeros. Raises ``E109`` if the state width does not match.
        """
        n = encoded.n_words
        out = np.zeros((n, len(SCOPE_TARGETS)), dtype=np.float32)
        if not n:
            return out
        full = select_layers(encoded, (-1,), self.hidden_size)
        sents = [(s, e) for s, e in sentences if e > s]
        if not sents:
            return out
        was_training = self.training
        self.eval()
        try:
            states = torch.as_tensor(full, dtype=torch.float32)
            batch, lengths = pad_sentences(states, sents)
            probs = torch.sigmoid(self(batch, lengths)).numpy()
        finally:
            self.train(was_training)
        for r, (s, e) in enumerate(sents):
            out[s:e] = probs[r, : e - s]
        return out

    # -- serialization -----------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """JSON-able description of the head (everything but the weights)."""
        return {
            "format": _FORMAT,
            "kind": _KIND,
            "targets": list(SCOPE_TARGETS),
            "hidden_size": self.hidden_size,
            "proj": self.proj_size,
            "rnn": self.rnn_size,
            "dropout": self.dropout_p,
            "threshold": self.threshold,
            "policies": self.policies,
            "meta": self.meta,
        }

    def save(self, path: str | Path, *, dtype: str = "float32") -> None:
        """Write ``scope_head.safetensors`` (float32/float16) and ``scope_head.json`` into ``path``."""
        write_head_files(
            self, path, self.config(), weights=HEAD_WEIGHTS, config_name=HEAD_CONFIG, dtype=dtype
        )

    @classmethod
    def load(cls, path: str | Path) -> ScopeHead:
        """Load a head written by :meth:`save` (float32, eval mode); ``E106`` if invalid."""
        src = Path(path)
        cfg, state = read_head_files(
            src, weights=HEAD_WEIGHTS, config_name=HEAD_CONFIG, kind=_KIND, fmt=_FORMAT
        )
        head = cls(
            cfg["hidden_size"],
            proj=cfg["proj"],
            rnn=cfg["rnn"],
            dropout=cfg.get("dropout", 0.1),
            threshold=cfg.get("threshold", 0.5),
            policies=cfg.get("policies"),
            meta=cfg.get("meta"),
        )
        load_head_weights(head, state, src)
        return head


def pad_sentences(
    states: torch.Tensor, sentences: Sequence[tuple[int, int]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut ``states [n_words, hidden]`` into padded ``[n_sent, max_len, hidden]`` + lengths."""
    lengths = torch.as_tensor([e - s for s, e in sentences], dtype=torch.long)
    width = int(lengths.max()) if len(sentences) else 1
    batch = states.new_zeros((len(sentences), width, states.shape[1]))
    for r, (s, e) in enumerate(sentences):
        batch[r, : e - s] = states[s:e]
    return batch, lengths


def sentence_words(text: str, words: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sentences of a note as word ranges over the encoder words ``words`` (char offsets).

    Uses the ConText sentence splitter (:func:`~alia_clin.context.sentences.split_sentences`)
    on the encoder's own words, so training and inference cut sentences the same way.
    """
    from ..context.sentences import Word, normalize, split_sentences

    ws = [
        Word(k, s, e, normalize(text[s:e]), text[s:e][:1].isupper(), text[s:e].lower())
        for k, (s, e) in enumerate(words)
    ]
    return split_sentences(text, ws)


@dataclass(frozen=True)
class EntityDecision:
    """The head's reading of one entity: mean scope probabilities and the sentence's cues."""

    neg: float
    unc: float
    #: Whether the head sees a negation or uncertainty cue in the entity's sentence.
    cue_in_sentence: bool


def entity_decisions(
    probs: np.ndarray,
    words: Sequence[tuple[int, int]],
    sentences: Sequence[tuple[int, int]],
    entities: Sequence[tuple[int, int]],
    threshold: float,
) -> list[EntityDecision | None]:
    """One :class:`EntityDecision` per entity (char spans); ``None`` when no word overlaps it."""
    if not len(words):
        return [None] * len(entities)
    starts = np.asarray([w[0] for w in words], dtype=np.int64)
    ends = np.asarray([w[1] for w in words], dtype=np.int64)
    sent_of = np.full(len(words), -1, dtype=np.int64)
    for n, (s, e) in enumerate(sentences):
        sent_of[s:e] = n
    cue = np.maximum(probs[:, NEG_CUE], probs[:, UNC_CUE]) >= threshold
    out: list[EntityDecision | None] = []
    for start, end in entities:
        hit = np.nonzero((starts < end) & (start < ends))[0]
        if not len(hit):
            out.append(None)
            continue
        sent = int(sent_of[hit[0]])
        in_sent = bool(cue[sentences[sent][0] : sentences[sent][1]].any()) if sent >= 0 else False
        out.append(
            EntityDecision(
                neg=float(probs[hit, NEG_SCOPE].mean()),
                unc=float(probs[hit, UNC_SCOPE].mean()),
                cue_in_sentence=in_sent,
            )
        )
    return out

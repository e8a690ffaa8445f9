"""Constrained decoding of per-word BIO tag probabilities.

:func:`bio_viterbi` reads one note's tag probabilities ``[n_words, n_tags]`` (rows sum to 1;
tags ``O, B-X, I-X, …`` as :func:`~alia_clin.encoder.heads.build_tags` orders them) and writes
the most probable tag sequence (one tag index per word) under the BIO grammar: ``I-X`` only
right after ``B-X`` or ``I-X``, never on the first word, and never on the first word after a
break (a line break between two words, so that spans do not cross lines). Independent
per-word argmax can break that grammar (``O I-X``, ``B-X I-Y``) and then a span's start or end
has to be guessed; the Viterbi path picks the best sequence that keeps it instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Ways a :class:`~alia_clin.encoder.heads.WordTagger` turns word probabilities into spans.
DECODINGS = ("greedy", "viterbi")

_FORBIDDEN = -1e9
_FLOOR = 1e-9


def bio_viterbi(
    probs: np.ndarray,
    begin: Sequence[int],
    inside: Sequence[int],
    breaks: np.ndarray | None = None,
) -> np.ndarray:
    """The best BIO-valid tag path of one note.

    ``probs``: ``[n_words, n_tags]`` tag probabilities; ``begin[k]`` / ``inside[k]``: the tag
    indices of ``B-`` / ``I-`` of label ``k``; ``breaks``: optional boolean ``[n_words]``, True
    where a break precedes the word (no ``I-`` tag there). Returns int64 tag indices
    ``[n_words]``.
    """
    n, n_tags = probs.shape
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    log_p = np.log(np.clip(probs.astype(np.float64), _FLOOR, 1.0))
    is_inside = np.zeros(n_tags, dtype=bool)
    is_inside[list(inside)] = True
    # transition[prev, cur]: 0 where allowed, _FORBIDDEN where the grammar forbids it
    transition = np.zeros((n_tags, n_tags))
    transition[:, is_inside] = _FORBIDDEN
    for b, i in zip(begin, inside, strict=True):
        transition[b, i] = 0.0
        transition[i, i] = 0.0
    no_inside = np.where(is_inside, _FORBIDDEN, 0.0)
    score = log_p[0] + no_inside
    back = np.zeros((n, n_tags), dtype=np.int64)
    for w in range(1, n):
        cand = score[:, None] + transition
        if breaks is not None and breaks[w]:
            cand = cand + no_inside[None, :]
        back[w] = cand.argmax(axis=0)
        score = cand[back[w], np.arange(n_tags)] + log_p[w]
    path = np.zeros(n, dtype=np.int64)
    path[-1] = int(score.argmax())
    for w in range(n - 1, 0, -1):
        path[w - 1] = back[w, path[w]]
    return path

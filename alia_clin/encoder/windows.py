"""Word-level encoding of notes of any length: pre-splitting, windows, merging, pooling.

Reads note texts and a :class:`~alia_clin.encoder.loading.LoadedEncoder`; returns one hidden
vector per pre-split *word* with exact character offsets into the text. No note is truncated.

1. **Pre-splitting** (:func:`split_words`): a word is a run of word characters (letters,
   digits, ``_``, combining marks; a Catalan middle dot between letters stays inside the word:
   ``col·legi``) or one other visible character (a punctuation mark, symbol or emoji grapheme).
   Whitespace and invisible format/control characters separate words and belong to none.
   Offsets are Python string indices (code points), so accents, ñ, ç, CRLF, tabs and emoji
   never shift them. Words go to the tokenizer with ``is_split_into_words=True``; the fast
   tokenizer's ``word_ids`` map pieces back to words (BASE-MODEL.md: this lifts the
   piece/character-span ceiling of strict F1 from ≈0.93 to ≈0.9999).
2. **Windows** (:func:`plan_windows`): a note's pieces are cut into windows of at most
   ``max_length`` tokens *including* the special tokens, consecutive windows overlapping by
   ``stride`` pieces; the last window is aligned to the end of the note so it is full.
3. **Merging** (:func:`assign_pieces`): each piece takes its hidden state from the one window
   where it is farthest from a *cut* edge (a window edge that is not the start or end of the
   note), ties going to the earlier window. Chosen over averaging because (a) a state computed
   with the most context on both sides is the closest to an unwindowed pass, while averaging
   mixes in states starved of context at a cut, (b) a note that fits one window gets exactly
   the plain single-pass states, so training and inference see the same thing whatever the
   note length, and (c) the result does not depend on how many windows overlap a piece.
4. **Layers** (``WindowSettings.layers``): by default a word's vector comes from the last
   layer; with several layers (``(-1, 8)``: the last layer and the output of layer 8) their
   vectors are concatenated in that order, so heads that read different layers share one pass
   (:func:`select_layers` gives each head its own). Layer ``k`` is transformers'
   ``hidden_states[k]`` (0: the embeddings); ``-1`` is always ``last_hidden_state`` (after a
   final norm, where the architecture has one).
5. **Pooling**: one vector per word, from its first piece (default, as BERT NER does) or the
   mean of its pieces. Bare prefix pieces (a lone ``▁``/``Ġ`` before digits, emoji or
   punctuation) are skipped unless they are all the word has. A word that yields no piece at
   all (none known so far with the supported tokenizers) is dropped from ``words``.

Inference (:func:`encode_notes`) runs in ``torch.inference_mode()``, windows batched across
notes in order of length (little padding), optional bf16 autocast (CPU with avx512_bf16, or
CUDA), and returns float32 numpy arrays. Training (:func:`word_states`) runs the same code
with autograd on and returns padded torch tensors that heads can backpropagate through.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import AliaClinValueError, ErrorCode
from ..text import split_words
from .loading import LoadedEncoder, quiet_transformers

if TYPE_CHECKING:
    import torch

logger = logging.getLogger("alia_clin")


POOLINGS = ("first", "mean")


@dataclass
class EncodedNote:
    """Word-level encoder output for one note.

    ``words[i]`` are the character offsets of word ``i`` in the note text and ``states[i]``
    its float32 hidden vector (``[n_words, hidden × len(layers)]``: the vectors of ``layers``
    concatenated in that order). ``encoder_sha256`` names the weights that produced the states,
    so heads can check they read the encoder they were trained on. ``case_fold`` is the mode the
    ``alia_encoder`` stage read the note with (:func:`alia_clin.encoder.casing.fold_capitals`).
    """

    words: list[tuple[int, int]]
    states: np.ndarray
    encoder_sha256: str = ""
    layers: tuple[int, ...] = (-1,)
    case_fold: str = "none"

    @property
    def n_words(self) -> int:
        """Number of words (rows of ``states``)."""
        return len(self.words)

    @property
    def hidden_size(self) -> int:
        """Width of ``states``."""
        return int(self.states.shape[1])


@dataclass
class WordBatch:
    """Differentiable word-level states of a batch of notes (the training path).

    ``states``: ``[batch, max_words, hidden]`` tensor (zeros past each note's words);
    ``mask``: ``[batch, max_words]`` bool, True on real words; ``words``: per note, the char
    offsets of its words (the rows of ``states``).
    """

    states: torch.Tensor
    mask: torch.Tensor
    words: list[list[tuple[int, int]]] = field(default_factory=list)


@dataclass(frozen=True)
class WindowSettings:
    """How notes are cut and pooled. ``max_length`` 0 means the model's own limit."""

    max_length: int = 512
    stride: int = 64
    batch_size: int = 8
    pooling: str = "first"
    bf16: bool = False
    #: Encoder layers whose word vectors are kept, concatenated in this order (``-1``: the last).
    layers: tuple[int, ...] = (-1,)


def distinct_layers(layers: Sequence[int]) -> tuple[int, ...]:
    """``layers`` as a tuple of ints; ``E107`` when empty or repeated (model-independent check)."""
    out = tuple(int(x) for x in layers)
    if not out or len(set(out)) != len(out):
        raise AliaClinValueError(
            ErrorCode.E107,
            value=str(list(out)),
            field="layers",
            choices="distinct layer indices (-1: the last)",
        )
    return out


def canonical_layers(layers: Sequence[int], n_layers: int) -> tuple[int, ...]:
    """``layers`` with negative indices resolved and the last layer written ``-1``.

    ``n_layers``: the encoder's transformer layers (``hidden_states`` has ``n_layers + 1``
    entries). Raises ``E107`` for an empty, repeated or out-of-range list.
    """
    out: list[int] = []
    for layer in layers:
        k = int(layer)
        k = n_layers + 1 + k if k < 0 else k
        if not 0 <= k <= n_layers:
            out = []
            break
        out.append(-1 if k == n_layers else k)
    if not out or len(set(out)) != len(out):
        raise AliaClinValueError(
            ErrorCode.E107,
            value=",".join(str(x) for x in layers),
            field="layers",
            choices=f"distinct layer indices in [-{n_layers + 1}, {n_layers}] (-1: the last layer)",
        )
    return tuple(out)


def select_layers(encoded: EncodedNote, layers: Sequence[int], width: int) -> np.ndarray:
    """The columns of ``encoded.states`` that hold ``layers`` (in that order), checked to be
    ``width`` wide: how a head trained on some layers reads an encoder that keeps more.

    Raises ``E109`` when a layer is not kept or the width does not match.
    """
    wanted = tuple(int(x) for x in layers)
    if wanted == encoded.layers:
        states = encoded.states
    else:
        missing = [x for x in wanted if x not in encoded.layers]
        if missing or encoded.hidden_size % len(encoded.layers):
            raise AliaClinValueError(
                ErrorCode.E109,
                expected=f"{width} (layers {list(wanted)})",
                got=f"{encoded.hidden_size} (layers {list(encoded.layers)}; set the encoder's layers)",
            )
        block = encoded.hidden_size // len(encoded.layers)
        cols = np.concatenate([np.arange(block) + block * encoded.layers.index(x) for x in wanted])
        states = encoded.states[:, cols]
    if encoded.n_words and states.shape[1] != width:
        raise AliaClinValueError(ErrorCode.E109, expected=width, got=int(states.shape[1]))
    return states


def plan_windows(n_pieces: int, content: int, stride: int) -> list[tuple[int, int]]:
    """Piece ranges ``[start, end)`` covering ``n_pieces`` with at most ``content`` pieces each.

    Consecutive windows overlap by ``stride`` pieces (more for the last one, which is aligned
    to the end of the note). ``content`` must exceed ``stride``.
    """
    if n_pieces <= content:
        return [(0, n_pieces)] if n_pieces else []
    step = content - stride
    starts = list(range(0, n_pieces - content, step))
    starts.append(n_pieces - content)
    return [(s, s + content) for s in starts]


def assign_pieces(n_pieces: int, windows: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """For every piece, the window whose state it takes and its position in that window.

    A piece's score in a window is its distance to the nearest *cut* edge (an edge inside the
    note); edges at the note's start or end do not count. The highest score wins; ties go to
    the earlier window. Returns ``(window_index, position)`` int64 arrays of length
    ``n_pieces``.
    """
    best = np.full(n_pieces, -1, dtype=np.int64)
    owner = np.zeros(n_pieces, dtype=np.int64)
    position = np.zeros(n_pieces, dtype=np.int64)
    big = n_pieces + 1
    for w, (s, e) in enumerate(windows):
        idx = np.arange(s, e)
        left = idx - s if s > 0 else np.full(e - s, big)
        right = (e - 1) - idx if e < n_pieces else np.full(e - s, big)
        score = np.minimum(left, right)
        better = score > best[s:e]
        best[s:e][better] = score[better]
        owner[s:e][better] = w
        position[s:e][better] = (idx - s)[better]
    if n_pieces and (best < 0).any():  # pragma: no cover - windows always cover every piece
        raise AssertionError("windows do not cover every piece")
    return owner, position


@dataclass
class _Note:
    words: list[tuple[int, int]]
    piece_ids: list[int]
    piece_word: np.ndarray  # piece -> index into ``words`` (after dropping piece-less words)
    pool_pieces: np.ndarray  # the pieces pooled into word vectors (bare prefix pieces skipped)
    windows: list[tuple[int, int]]
    owner: np.ndarray
    position: np.ndarray


def _check_settings(encoder: LoadedEncoder, settings: WindowSettings) -> tuple[int, WindowSettings]:
    """Validate settings; return the number of content pieces per window and the settings with
    their layers in canonical form (:func:`canonical_layers`)."""
    max_length = settings.max_length or encoder.max_tokens
    max_length = min(max_length, encoder.max_tokens)
    content = max_length - encoder.n_special
    reason = None
    if settings.pooling not in POOLINGS:
        raise AliaClinValueError(
            ErrorCode.E107, value=settings.pooling, field="pooling", choices=", ".join(POOLINGS)
        )
    if settings.stride < 0:
        reason = "stride must be >= 0"
    elif content <= settings.stride:
        reason = "windows must hold more pieces than the stride"
    elif settings.batch_size < 1:
        reason = "batch_size must be >= 1"
    layers = canonical_layers(settings.layers, n_hidden_layers(encoder))
    if reason:
        raise AliaClinValueError(
            ErrorCode.E105,
            max_length=max_length,
            stride=settings.stride,
            n_special=encoder.n_special,
            reason=reason,
        )
    return content, replace(settings, layers=layers)


def n_hidden_layers(encoder: LoadedEncoder) -> int:
    """Transformer layers of the encoder (``config.num_hidden_layers``)."""
    return int(getattr(encoder.config, "num_hidden_layers", 0) or 0)


def _prepare(encoder: LoadedEncoder, texts: Sequence[str], content: int, stride: int) -> list[_Note]:
    """Pre-split, tokenize (one fast-tokenizer call per batch) and plan windows."""
    all_words = [split_words(t) for t in texts]
    nonempty = [i for i, w in enumerate(all_words) if w]
    batch = [[encoder.word_prefix + texts[i][s:e] for s, e in all_words[i]] for i in nonempty]
    encodings: dict[int, tuple[list[int], list[int | None]]] = {}
    if batch:
        with quiet_transformers():
            enc = encoder.tokenizer(batch, is_split_into_words=True, add_special_tokens=False)
        for j, i in enumerate(nonempty):
            encodings[i] = (list(enc["input_ids"][j]), list(enc.word_ids(j)))
    notes = []
    for i, words in enumerate(all_words):
        ids, word_ids = encodings.get(i, ([], []))
        keep = [k for k, w in enumerate(word_ids) if w is not None]
        ids = [ids[k] for k in keep]
        wid = np.asarray([word_ids[k] for k in keep], dtype=np.int64)
        present = np.unique(wid)
        if len(present) < len(words):
            logger.debug("%d of %d words yield no piece: dropped", len(words) - len(present), len(words))
        kept_words = [words[w] for w in present.tolist()]
        remap = (np.searchsorted(present, wid) if len(wid) else wid).astype(np.int64)
        windows = plan_windows(len(ids), content, stride)
        owner, position = assign_pieces(len(ids), windows)
        pool = _pool_pieces(encoder, ids, remap)
        notes.append(_Note(kept_words, ids, remap, pool, windows, owner, position))
    return notes


def _pool_pieces(encoder: LoadedEncoder, ids: list[int], piece_word: np.ndarray) -> np.ndarray:
    """Indices of the pieces that represent their word: all but bare prefix pieces.

    A bare ``▁``/``Ġ`` piece (XLM-R before digits or emoji, byte-level BPE before punctuation)
    carries no content of its own; it is pooled only when its word has no other piece.
    """
    if not encoder.bare_piece_ids or not ids:
        return np.arange(len(ids), dtype=np.int64)
    bare = np.isin(np.asarray(ids, dtype=np.int64), np.asarray(sorted(encoder.bare_piece_ids)))
    content_per_word = np.bincount(piece_word[~bare], minlength=int(piece_word.max()) + 1)
    keep = ~bare | (content_per_word[piece_word] == 0)
    return np.nonzero(keep)[0].astype(np.int64)


def _autocast(device_type: str, bf16: bool) -> contextlib.AbstractContextManager[Any]:
    import torch

    if not bf16:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=torch.bfloat16)


def _forward(
    encoder: LoadedEncoder, notes: list[_Note], settings: WindowSettings, hidden: int
) -> list[torch.Tensor]:
    """Run every window of every note; return per note its word states ``[n_words, hidden]``
    (``hidden``: the width of the kept layers together).

    Autograd follows the ambient mode: under ``inference_mode`` nothing is recorded.
    """
    import torch

    model = encoder.model
    device = next(model.parameters()).device
    layers = settings.layers  # canonical (from _check_settings)
    prefix, suffix = encoder.prefix_ids, encoder.suffix_ids
    # (note, window) pairs, longest first, so each batch holds windows of similar length.
    jobs = [(n, w) for n, note in enumerate(notes) for w in range(len(note.windows))]
    jobs.sort(key=lambda j: (-(notes[j[0]].windows[j[1]][1] - notes[j[0]].windows[j[1]][0]), j))
    outputs: dict[tuple[int, int], torch.Tensor] = {}
    for b in range(0, len(jobs), settings.batch_size):
        chunk = jobs[b : b + settings.batch_size]
        seqs = []
        for n, w in chunk:
            s, e = notes[n].windows[w]
            seqs.append(prefix + notes[n].piece_ids[s:e] + suffix)
        width = max(len(x) for x in seqs)
        ids = torch.full((len(seqs), width), encoder.pad_id, dtype=torch.long)
        mask = torch.zeros((len(seqs), width), dtype=torch.long)
        for r, seq in enumerate(seqs):
            ids[r, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            mask[r, : len(seq)] = 1
        with _autocast(device.type, settings.bf16):
            if layers == (-1,):
                out = model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
            else:
                res = model(
                    input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True
                )
                out = torch.cat(
                    [res.last_hidden_state if k == -1 else res.hidden_states[k] for k in layers], dim=-1
                )
        out = out.float()
        for r, key in enumerate(chunk):
            outputs[key] = out[r]
    results = []
    offset = len(prefix)
    for n, note in enumerate(notes):
        n_words = len(note.words)
        if not note.piece_ids:
            results.append(torch.zeros((n_words, hidden), device=device))
            continue
        parts = []
        for w in range(len(note.windows)):
            sel = np.nonzero(note.owner == w)[0]
            if len(sel):
                rows = torch.as_tensor(note.position[sel] + offset, device=device)
                parts.append((torch.as_tensor(sel, device=device), outputs[(n, w)].index_select(0, rows)))
        order = torch.cat([p[0] for p in parts])
        pieces = torch.cat([p[1] for p in parts]).index_select(0, torch.argsort(order))
        pool_word = note.piece_word[note.pool_pieces]
        if settings.pooling == "first":
            # pieces come in word order: a word's first occurrence is its first piece
            first = note.pool_pieces[np.unique(pool_word, return_index=True)[1]]
            results.append(pieces.index_select(0, torch.as_tensor(first, device=device)))
        else:
            used = pieces.index_select(0, torch.as_tensor(note.pool_pieces, device=device))
            word_of_piece = torch.as_tensor(pool_word, device=device)
            sums = torch.zeros((n_words, hidden), device=device, dtype=pieces.dtype)
            sums = sums.index_add(0, word_of_piece, used)
            counts = torch.bincount(word_of_piece, minlength=n_words).clamp(min=1).to(pieces.dtype)
            results.append(sums / counts.unsqueeze(1))
    return results


@contextlib.contextmanager
def _threads(num_threads: int | None) -> Iterator[None]:
    import torch

    if num_threads and num_threads > 0 and torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)
    yield


def encode_notes(
    encoder: LoadedEncoder,
    texts: Sequence[str],
    *,
    settings: WindowSettings | None = None,
    num_threads: int | None = None,
) -> list[EncodedNote]:
    """Encode notes for inference: one :class:`EncodedNote` (float32 numpy) per text, in order.

    Runs in ``torch.inference_mode()`` with the model in eval mode; the model's mode is
    restored afterwards. ``num_threads`` (when > 0) sets ``torch.set_num_threads`` for the
    process.
    """
    import torch

    settings = settings or WindowSettings()
    content, settings = _check_settings(encoder, settings)
    layers = settings.layers
    hidden = encoder.hidden_size * len(layers)
    with _threads(num_threads):
        notes = _prepare(encoder, texts, content, settings.stride)
        was_training = encoder.model.training
        encoder.model.eval()
        try:
            with torch.inference_mode():
                states = _forward(encoder, notes, settings, hidden)
                arrays = [s.detach().to("cpu", dtype=torch.float32).numpy().copy() for s in states]
        finally:
            encoder.model.train(was_training)
    return [
        EncodedNote(
            words=note.words,
            states=arr.reshape(len(note.words), hidden),
            encoder_sha256=encoder.weights_sha256,
            layers=layers,
        )
        for note, arr in zip(notes, arrays, strict=True)
    ]


def word_states(
    encoder: LoadedEncoder, texts: Sequence[str], *, settings: WindowSettings | None = None
) -> WordBatch:
    """Differentiable word states for a batch of texts (the training path).

    Same pre-splitting, windows, merging and pooling as :func:`encode_notes`, but autograd
    stays on and the model's current mode (train/eval, i.e. dropout) is used as is. Returns a
    padded :class:`WordBatch` on the model's device.
    """
    import torch

    settings = settings or WindowSettings()
    content, settings = _check_settings(encoder, settings)
    hidden = encoder.hidden_size * len(settings.layers)
    notes = _prepare(encoder, texts, content, settings.stride)
    per_note = _forward(encoder, notes, settings, hidden)
    device = next(encoder.model.parameters()).device
    width = max([len(n.words) for n in notes] + [1])
    states = torch.zeros((len(notes), width, hidden), device=device)
    mask = torch.zeros((len(notes), width), dtype=torch.bool, device=device)
    rows = []
    for i, (note, st) in enumerate(zip(notes, per_note, strict=True)):
        k = len(note.words)
        rows.append(torch.cat([st, st.new_zeros((width - k, hidden))]) if k < width else st)
        mask[i, :k] = True
    if rows:
        states = torch.stack(rows)
    return WordBatch(states=states, mask=mask, words=[n.words for n in notes])


def n_windows(n_pieces: int, max_length: int, n_special: int, stride: int) -> int:
    """How many windows a note of ``n_pieces`` pieces needs (for planning and benchmarks)."""
    content = max_length - n_special
    if n_pieces <= content:
        return 1 if n_pieces else 0
    return math.ceil((n_pieces - content) / (content - stride)) + 1

"""Frozen encoder states of training notes, with an optional on-disk cache.

Reads notes (``(id, text)`` pairs) and a frozen encoder (a
:class:`~alia_clin.encoder.loading.LoadedEncoder`); returns one
:class:`~alia_clin.encoder.windows.EncodedNote` per note, computed with the same windows,
pooling and settings as the ``alia_encoder`` stage. With ``cache_dir`` it reuses and writes
``<key>.npz`` files (word offsets and float16 states) keyed by the encoder's weights hash, the
window settings, the note id and its text, so a second head trained on the same encoder does
not pay the encoder pass again. With a cache, states come back float16-rounded whether they
were read or just computed, so results do not depend on whether the cache was warm. The cache
holds derived states, never text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from ..encoder.windows import EncodedNote, WindowSettings, canonical_layers, n_hidden_layers


def cache_key(encoder_sha: str, settings: WindowSettings, note_id: str, text: str) -> str:
    """The cache file stem of one note's states."""
    h = hashlib.sha256()
    fields = asdict(settings)
    if tuple(fields["layers"]) == (-1,):
        del fields["layers"]  # the keys of caches written before layers were a setting stay valid
    h.update(json.dumps([encoder_sha, fields, note_id], sort_keys=True).encode())
    h.update(text.encode("utf-8"))
    return h.hexdigest()[:32]


def encode_cached(
    encoder: Any,
    notes: Sequence[tuple[str, str]],
    *,
    settings: WindowSettings | None = None,
    batch_notes: int = 16,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[EncodedNote]:
    """Encode ``notes`` (``(id, text)``) with the frozen ``encoder``, in input order.

    ``progress(done, total)`` is called after each batch of notes that had to be encoded.
    """
    from ..encoder.windows import encode_notes

    settings = settings or WindowSettings()
    layers = canonical_layers(settings.layers, n_hidden_layers(encoder))
    cache = Path(cache_dir) if cache_dir else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    encoded: dict[int, EncodedNote] = {}
    todo: list[int] = []
    for i, (note_id, text) in enumerate(notes):
        path = cache / f"{cache_key(encoder.weights_sha256, settings, note_id, text)}.npz" if cache else None
        if path is not None and path.is_file():
            with np.load(path) as z:
                words = [(int(a), int(b)) for a, b in z["words"]]
                encoded[i] = EncodedNote(
                    words, z["states"].astype(np.float32), encoder.weights_sha256, layers=layers
                )
        else:
            todo.append(i)
    for b in range(0, len(todo), batch_notes):
        idx = todo[b : b + batch_notes]
        outs = encode_notes(encoder, [notes[i][1] for i in idx], settings=settings)
        for i, enc in zip(idx, outs, strict=True):
            encoded[i] = enc
            if cache:
                note_id, text = notes[i]
                path = cache / f"{cache_key(encoder.weights_sha256, settings, note_id, text)}.npz"
                words_arr = np.asarray(enc.words, dtype=np.int64).reshape(-1, 2)
                half = enc.states.astype(np.float16)
                np.savez(path, words=words_arr, states=half)
                # what a later cached run reads: the first run trains on the same numbers
                encoded[i] = EncodedNote(
                    enc.words, half.astype(np.float32), enc.encoder_sha256, layers=layers
                )
        if progress:
            progress(min(b + batch_notes, len(todo)), len(todo))
    return [encoded[i] for i in range(len(notes))]

"""An ensemble of word taggers that share labels, tags and layers.

:class:`TaggerEnsemble` reads a note's word states (an
:class:`~alia_clin.encoder.windows.EncodedNote`), runs every member head on them, averages their
tag probabilities and decodes the mean as its first member would
(:meth:`~alia_clin.encoder.heads.WordTagger.decode`, greedy or Viterbi): heads trained with
different seeds make different mistakes, and the mean corrects part of them. On disk it is a
folder with ``ensemble.json`` (format, kind, member folders) and one head folder per member
(``member_0/``, ``member_1/`` …, each as :meth:`WordTagger.save` writes it).
:func:`load_tagger` reads either a single head or an ensemble.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import AliaClinValueError, ErrorCode
from .heads import SpanPrediction, WordTagger
from .windows import EncodedNote

ENSEMBLE_CONFIG = "ensemble.json"
_KIND = "word_tagger_ensemble"
_FORMAT = 1


class TaggerEnsemble:
    """Mean of several :class:`WordTagger` heads' tag probabilities (at least two members, all
    with the same tags, layers and input width; ``E106`` otherwise)."""

    def __init__(self, members: Sequence[WordTagger]) -> None:
        if len(members) < 2:
            raise AliaClinValueError(ErrorCode.E106, path="<ensemble>", reason="an ensemble needs two heads")
        first = members[0]
        for m in members[1:]:
            if (m.tags, m.layers, m.hidden_size) != (first.tags, first.layers, first.hidden_size):
                raise AliaClinValueError(
                    ErrorCode.E106, path="<ensemble>", reason="members differ in tags, layers or width"
                )
        self.members = list(members)

    @property
    def labels(self) -> list[str]:
        return self.members[0].labels

    @property
    def layers(self) -> tuple[int, ...]:
        return self.members[0].layers

    @property
    def hidden_size(self) -> int:
        return self.members[0].hidden_size

    @property
    def decoding(self) -> str:
        return self.members[0].decoding

    def eval(self) -> TaggerEnsemble:
        """Put every member in eval mode."""
        for m in self.members:
            m.eval()
        return self

    def probabilities(self, states: np.ndarray) -> np.ndarray:
        """Mean tag probabilities ``[n_words, n_tags]`` of the members for one note's states."""
        return np.mean([m.probabilities(states) for m in self.members], axis=0)

    def predict(self, encoded: EncodedNote, *, text: str | None = None) -> list[SpanPrediction]:
        """Spans for one encoded note (``E109`` when the encoder lacks the members' layers)."""
        if not encoded.n_words:
            return []
        first = self.members[0]
        return first.decode(encoded.words, self.probabilities(first.inputs(encoded)), text=text)

    def predict_many(
        self, encoded: Sequence[EncodedNote], texts: Sequence[str] | None = None
    ) -> list[list[SpanPrediction]]:
        """:meth:`predict` for each note (each member predicts the notes batched:
        :meth:`WordTagger.probabilities_many`)."""
        if not encoded:
            return []
        first = self.members[0]
        empty = np.zeros((0, first.hidden_size), np.float32)
        inputs = [first.inputs(e) if e.n_words else empty for e in encoded]
        per_member = [m.probabilities_many(inputs) for m in self.members]
        return [
            first.decode(
                e.words, np.mean([p[i] for p in per_member], axis=0), text=texts[i] if texts else None
            )
            if e.n_words
            else []
            for i, e in enumerate(encoded)
        ]

    def save(self, path: str | Path, *, dtype: str = "float32") -> None:
        """Write ``ensemble.json`` and one head folder per member into ``path``."""
        dest = Path(path)
        dest.mkdir(parents=True, exist_ok=True)
        names = [f"member_{i}" for i in range(len(self.members))]
        for name, m in zip(names, self.members, strict=True):
            m.save(dest / name, dtype=dtype)
        cfg = {"format": _FORMAT, "kind": _KIND, "members": names}
        (dest / ENSEMBLE_CONFIG).write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu") -> TaggerEnsemble:
        """Read an ensemble written by :meth:`save` (``E106`` on a bad or missing file)."""
        src = Path(path)
        try:
            cfg = json.loads((src / ENSEMBLE_CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AliaClinValueError(ErrorCode.E106, path=str(src), reason=type(exc).__name__) from None
        members = cfg.get("members")
        if cfg.get("kind") != _KIND or cfg.get("format") != _FORMAT or not isinstance(members, list):
            raise AliaClinValueError(ErrorCode.E106, path=str(src), reason="not a tagger ensemble")
        names = [str(n) for n in members]
        if any(Path(n).name != n or n in ("", ".", "..") for n in names):
            raise AliaClinValueError(ErrorCode.E106, path=str(src), reason="bad member folder name")
        return cls([WordTagger.load(src / n, device=device) for n in names])


def load_tagger(path: str | Path, *, device: str = "cpu") -> WordTagger | TaggerEnsemble:
    """A head folder: an ensemble when it holds ``ensemble.json``, else one :class:`WordTagger`."""
    src = Path(path)
    if (src / ENSEMBLE_CONFIG).is_file():
        return TaggerEnsemble.load(src, device=device)
    return WordTagger.load(src, device=device)

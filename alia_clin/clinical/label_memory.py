"""Label memory: the label an entity's exact wording almost always has in the training gold.

A tagger sometimes gives a frequent, unambiguous mention the wrong label ("cardiomegalia" as
SINTOMA where the training gold says ENFERMEDAD 47 times of 49). :func:`build_label_memory`
counts, over the gold spans of the *training* split only, the labels of each wording
(:func:`memory_key`: lower case, whitespace collapsed) and keeps the wordings seen at least
``min_count`` times with one label in at least ``min_share`` of them. :meth:`LabelMemory.relabel`
gives an entity of ``doc.ents`` whose whole wording is kept that label (only entities whose
label is one of the memory's labels; offsets never change).

``alia_ner`` stores one in its folder (:data:`MEMORY_FILE`) and applies it after decoding;
``alia-clin models label-memory`` builds it from a trained pipeline's training split. The
wordings are clinical terms from annotated corpora (the shipped one: CardioCCC train, CC BY
4.0), never a user's notes; nothing here logs them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from spacy.tokens import Doc, Span

from ..errors import AliaClinValueError, ErrorCode

MEMORY_FILE = "label_memory.json"
FORMAT = "alia_clin.label_memory.v1"


def memory_key(text: str) -> str:
    """The wording of a mention as the memory compares it: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class LabelMemory:
    """Wording → label, with how it was built (``min_count``, ``min_share``, ``sources``)."""

    labels: dict[str, str]
    min_count: int
    min_share: float
    sources: list[str] = field(default_factory=list)

    def relabel(self, doc: Doc) -> int:
        """Give every entity of ``doc.ents`` whose wording is kept the kept label; returns the
        number of entities changed."""
        known = set(self.labels.values())
        ents = list(doc.ents)
        changed = 0
        for i, ent in enumerate(ents):
            if ent.label_ not in known:
                continue
            label = self.labels.get(memory_key(ent.text))
            if label is not None and label != ent.label_:
                ents[i] = Span(doc, ent.start, ent.end, label=label)
                changed += 1
        if changed:
            doc.ents = ents
        return changed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (wordings sorted)."""
        return {
            "format": FORMAT,
            "min_count": self.min_count,
            "min_share": self.min_share,
            "sources": list(self.sources),
            "labels": dict(sorted(self.labels.items())),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, path: str = MEMORY_FILE) -> LabelMemory:
        """Inverse of :meth:`to_dict`; ``E106`` when ``data`` is not a label memory."""
        if data.get("format") != FORMAT or not isinstance(data.get("labels"), dict):
            raise AliaClinValueError(ErrorCode.E106, path=path, reason=f"not a {FORMAT} file")
        return cls(
            labels={str(k): str(v) for k, v in data["labels"].items()},
            min_count=int(data["min_count"]),
            min_share=float(data["min_share"]),
            sources=[str(s) for s in data.get("sources", [])],
        )


def build_label_memory(
    examples: Iterable[tuple[str, Sequence[tuple[int, int, str]]]],
    *,
    labels: Sequence[str],
    min_count: int = 5,
    min_share: float = 0.9,
    sources: Sequence[str] = (),
) -> LabelMemory:
    """Count the labels of each gold wording in ``examples`` (``(text, [(start, end, label)])``;
    spans of other labels are ignored) and keep those seen ``min_count`` times or more with one
    label in at least ``min_share`` of them. ``E107`` for a bad ``min_count`` or ``min_share``."""
    if min_count < 1:
        raise AliaClinValueError(ErrorCode.E107, value=str(min_count), field="min_count", choices=">= 1")
    if not 0.5 < min_share <= 1.0:
        raise AliaClinValueError(ErrorCode.E107, value=str(min_share), field="min_share", choices="(0.5, 1]")
    wanted = set(labels)
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for text, spans in examples:
        for start, end, label in spans:
            if label in wanted:
                counts[memory_key(text[start:end])][label] += 1
    kept: dict[str, str] = {}
    for key, by_label in counts.items():
        total = sum(by_label.values())
        label, n = by_label.most_common(1)[0]
        if key and total >= min_count and n / total >= min_share:
            kept[key] = label
    return LabelMemory(kept, min_count, min_share, list(sources))

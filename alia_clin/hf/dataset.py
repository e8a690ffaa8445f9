"""The heart-failure document dataset: read the corpora, label (:mod:`.labels`), split.

Reads, under a corpora root (:func:`alia_clin.training.corpora.default_corpora_root`):

* ``cardioccc/train`` (BRAT, ``DISEASE`` spans),
* ``distemist_symptemist_medprocner/train`` (BRAT, ``ENFERMEDAD`` spans),
* ``codiesp/{train,dev,test}`` (text + ``*D.tsv`` diagnosis codes).

Copies of one document (same canonical id) are merged: codes and gold spans are united. Writes
nothing; never logs text.

**Dev split** (fixed): documents are linked into groups exactly like the multitask trainer
does (same canonical id, same normalized text, or a shared sentence of ≥ 120 characters), and
a group goes to dev when the SHA-256 bucket of its smallest id is below ``dev_fraction``
(default 0.3). The CodiEsp ``test`` folder present in the shared corpora is used like any
other source (the project's held-back test splits are not here).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.tokens import Doc

from ..context.lexicon import ContextLexicon
from ..errors import AliaClinValueError, ErrorCode
from ..io.brat import read_ann, read_text
from ..training.corpora import _bucket, _Groups, _sentence_keys, canonical_id
from .evidence import assert_char_spans
from .labels import DISEASE_LABELS, hf_entity_spans, label_from_assertions, label_from_codes
from .masking import find_hf_mentions

logger = logging.getLogger("alia_clin")

#: BRAT sources with gold disease spans.
BRAT_SOURCES = ("cardioccc/train", "distemist_symptemist_medprocner/train")
#: CodiEsp splits (text files + ``<split>D.tsv``).
CODIESP_SPLITS = ("train", "dev", "test")
#: Default share of groups in the dev split.
DEV_FRACTION = 0.3


@dataclass
class HfDocument:
    """One labelled document (text kept in memory only, never written anywhere).

    ``gold_spans``: gold disease spans ``(start, end, label)`` (None when no source annotates
    diseases); ``label``/``rules`` are set by :func:`label_documents`; ``split`` by
    :func:`assign_splits`.
    """

    id: str
    text: str
    sources: list[str]
    codes: list[str] = field(default_factory=list)
    gold_spans: list[tuple[int, int, str]] | None = None
    label: bool = False
    rules: list[str] = field(default_factory=list)
    split: str = "train"

    @property
    def corpus(self) -> str:
        """The first source's corpus name."""
        return self.sources[0].split("/", 1)[0]


def _read_codes(path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split("\t")
        if len(parts) >= 2:
            out.setdefault(canonical_id(parts[0]), []).append(parts[1])
    return out


def read_hf_corpus(root: str | Path) -> list[HfDocument]:
    """Every document of the HF sources under ``root``, merged by canonical id, sorted by id.

    Raises ``E303`` when none of the sources is there.
    """
    root = Path(root)
    docs: dict[str, HfDocument] = {}

    def add(doc_id: str, text: str, source: str, codes: Sequence[str], spans: list[Any] | None) -> None:
        seen = docs.get(doc_id)
        if seen is None:
            docs[doc_id] = HfDocument(doc_id, text, [source], list(codes), spans)
            return
        if seen.text != text:
            return  # a different text under the same id: keep the first copy
        seen.sources.append(source)
        seen.codes.extend(codes)
        if spans is not None:
            seen.gold_spans = sorted(set(seen.gold_spans or []) | set(spans))

    found = False
    for source in BRAT_SOURCES:
        folder = root / source
        if not folder.is_dir():
            continue
        found = True
        for txt in sorted(folder.glob("*.txt")):
            text = read_text(txt)
            spans = [
                (e.start, e.end, e.label)
                for e in read_ann(txt.with_suffix(".ann")).entities
                if e.label in DISEASE_LABELS and 0 <= e.start < e.end <= len(text)
            ]
            add(canonical_id(txt.stem), text, source, [], spans)
    for split in CODIESP_SPLITS:
        folder = root / "codiesp" / split
        if not folder.is_dir():
            continue
        found = True
        codes = _read_codes(folder / f"{split}D.tsv")
        for txt in sorted(folder.glob("*.txt")):
            doc_id = canonical_id(txt.stem)
            add(doc_id, read_text(txt), f"codiesp/{split}", codes.get(doc_id, []), None)
    if not found:
        raise AliaClinValueError(ErrorCode.E303, root=str(root), reason="no HF source folder found")
    return [docs[k] for k in sorted(docs)]


def assign_splits(docs: Sequence[HfDocument], dev_fraction: float = DEV_FRACTION) -> None:
    """Set ``split`` to ``"dev"`` or ``"train"`` by hashed group (see the module docstring)."""
    groups = _Groups()
    first: dict[bytes, int] = {}
    for i, doc in enumerate(docs):
        groups.find(i)
        for key in _sentence_keys(doc.text):
            groups.union(i, first.setdefault(key, i))
    members: dict[Any, list[str]] = {}
    for i, doc in enumerate(docs):
        members.setdefault(groups.find(i), []).append(doc.id)
    for i, doc in enumerate(docs):
        group_key = min(members[groups.find(i)])
        doc.split = "dev" if _bucket("hf:" + group_key) < dev_fraction else "train"


def label_documents(
    docs: Iterable[HfDocument],
    make_doc: Callable[[str], Doc],
    lexicon: ContextLexicon,
) -> None:
    """Apply the labelling rules of :mod:`alia_clin.hf.labels` to every document.

    ``make_doc`` turns a text into a Doc (tokenized; with ``alia_sections`` run for
    section-implied assertions).
    """
    for d in docs:
        rules: list[str] = []
        if label_from_codes(d.codes):
            rules.append("codes")
        if d.gold_spans is not None:
            spans = hf_entity_spans(d.text, d.gold_spans)
            rule = "entities"
        else:
            spans = [(m.start, m.end) for m in find_hf_mentions(d.text)]
            rule = "mentions"
        if spans:
            doc = make_doc(d.text)
            if label_from_assertions(assert_char_spans(doc, spans, lexicon)):
                rules.append(rule)
        d.rules = rules
        d.label = bool(rules)


def summary(docs: Sequence[HfDocument]) -> dict[str, Any]:
    """Counts per split and corpus: documents, positives, prevalence, rules (no text)."""
    out: dict[str, Any] = {}
    for split in ("train", "dev"):
        part = [d for d in docs if d.split == split]
        by_corpus: dict[str, dict[str, int]] = {}
        rules: dict[str, int] = {}
        for d in part:
            c = by_corpus.setdefault(d.corpus, {"documents": 0, "positives": 0})
            c["documents"] += 1
            c["positives"] += int(d.label)
            for r in d.rules:
                rules[r] = rules.get(r, 0) + 1
        pos = sum(d.label for d in part)
        out[split] = {
            "documents": len(part),
            "positives": pos,
            "prevalence": round(pos / len(part), 4) if part else None,
            "by_corpus": by_corpus,
            "rules": rules,
        }
    return out

"""BRAT corpus readers for multitask training, with label mapping, deduplication and dev splits.

Reads ``<root>/<corpus>/<split>/*.txt`` (UTF-8, ``newline=""``, so BRAT offsets index the exact
file content) with the ``.ann`` beside each note; writes nothing. A *source* is named
``"<corpus>/<split>"`` (``"meddocan/train"``, ``"cardioccc/train"``). Known corpora and how
their labels map onto the project's label sets (:data:`CORPORA`):

=================================== ==========================================================
``meddocan``                        PHI labels kept as they are
``cardioccc``                       DISEASE→ENFERMEDAD, SYMPTOM→SINTOMA, PROCEDURE→PROCEDIMIENTO,
                                    MEDICATION→FARMACO
``distemist_symptemist_medprocner`` ENFERMEDAD, SINTOMA, PROCEDIMIENTO
``pharmaconer``                     NORMALIZABLES, NO_NORMALIZABLES→FARMACO; **PROTEINAS and
                                    UNCLEAR are dropped** (not drugs in our label set; counted in
                                    :attr:`TrainingData.report`)
``cantemist``                       MORFOLOGIA_NEOPLASIA
=================================== ==========================================================

E3C is CC BY-NC: it is refused as a training source (``E132``).

**Shared documents.** MEDDOCAN, PharmaCoNER, CodiEsp and DisTEMIST/SympTEMIST/MedProcNER hold
the same case reports, sometimes under a prefixed id (``es-S0004-…``) and, for MEDDOCAN, with
synthetic headers added. Documents are therefore linked into *groups*: same canonical id
(:func:`canonical_id`), the same text (whitespace-normalized) or a shared long sentence
(≥ :data:`LINK_MIN_CHARS` characters). A group
that holds any dev document of any task is removed from every task's training split, so the
shared encoder never trains on another task's dev text.

**Dev splits** are deterministic: listed dev sources (e.g. MEDDOCAN's own ``dev`` folder), plus a
hashed share of a *holdout* source (e.g. 20 % of CardioCCC train, chosen by the SHA-256 of the
group key, so a document's side does not depend on reading order or on the other corpora).

**Partial annotation.** Each :class:`Example` records the labels its source annotates
(``annotated``); merged copies of one document (DisTEMIST + PharmaCoNER) take the union of
their spans and labels. The trainer uses this to avoid teaching "not a drug" from a corpus that
never annotated drugs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from ..io.brat import read_ann, read_text

logger = logging.getLogger("alia_clin")

#: A gold span: ``(start, end, label)`` character offsets into the note.
GoldSpan = tuple[int, int, str]

#: Clinical entity labels of the ``ner`` task.
NER_LABELS = ("ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO")
#: Optional extra ``ner`` label (CANTEMIST tumour morphology).
MORPHOLOGY_LABEL = "MORFOLOGIA_NEOPLASIA"
#: Sentences at least this long that two documents share link them into one group.
LINK_MIN_CHARS = 120
#: Corpora that must never train shipped models, with their licence.
FORBIDDEN_CORPORA = {"e3c": "CC BY-NC"}

_ID_PREFIX = re.compile(r"^(?:es|ca|eu|gl|en)[-_](?=S\d)")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True)
class CorpusSpec:
    """How one corpus's BRAT labels map onto the project's labels.

    ``label_map`` maps corpus labels to project labels; with ``identity`` every label is kept as
    it is. ``dropped`` labels are removed on purpose (counted in the data report); any other
    label outside the map is dropped and counted as ``unmapped``.
    """

    name: str
    license: str
    label_map: Mapping[str, str] = field(default_factory=dict)
    identity: bool = False
    dropped: tuple[str, ...] = ()

    def map_label(self, label: str) -> str | None:
        """The project label for a corpus label, or None when the label is not used."""
        if self.identity:
            return label
        return self.label_map.get(label)

    def annotated(self) -> frozenset[str] | None:
        """Project labels this corpus annotates (None: every label, e.g. MEDDOCAN's PHI set)."""
        return None if self.identity else frozenset(self.label_map.values())


CORPORA: dict[str, CorpusSpec] = {
    "meddocan": CorpusSpec("meddocan", "CC BY 4.0", identity=True),
    "cardioccc": CorpusSpec(
        "cardioccc",
        "CC BY 4.0",
        {
            "DISEASE": "ENFERMEDAD",
            "SYMPTOM": "SINTOMA",
            "PROCEDURE": "PROCEDIMIENTO",
            "MEDICATION": "FARMACO",
        },
    ),
    "distemist_symptemist_medprocner": CorpusSpec(
        "distemist_symptemist_medprocner",
        "CC BY 4.0",
        {"ENFERMEDAD": "ENFERMEDAD", "SINTOMA": "SINTOMA", "PROCEDIMIENTO": "PROCEDIMIENTO"},
    ),
    "pharmaconer": CorpusSpec(
        "pharmaconer",
        "CC BY 4.0",
        {"NORMALIZABLES": "FARMACO", "NO_NORMALIZABLES": "FARMACO"},
        dropped=("PROTEINAS", "UNCLEAR"),
    ),
    "cantemist": CorpusSpec("cantemist", "CC BY 4.0", {MORPHOLOGY_LABEL: MORPHOLOGY_LABEL}),
}


@dataclass
class Example:
    """One annotated note.

    ``id``: canonical document id; ``text``: the exact note; ``spans``: gold ``(start, end,
    label)`` in project labels (overlaps possible, duplicates removed); ``sources``: the
    ``corpus/split`` sources it was read from; ``annotated``: project labels the sources
    annotate (None = all labels of the task).
    """

    id: str
    text: str
    spans: list[GoldSpan]
    sources: list[str]
    annotated: frozenset[str] | None = None


@dataclass
class TaskSources:
    """Where one task's data comes from (the ``[training.tasks.<name>]`` config section).

    ``train``/``dev``: source names; ``holdout``: a source whose ``holdout_fraction`` (by hashed
    group key) goes to dev instead of train (it must also be listed in ``train``);
    ``labels``: the task's labels (None: every label found in its sources, sorted).
    """

    train: list[str]
    dev: list[str] = field(default_factory=list)
    holdout: str | None = None
    holdout_fraction: float = 0.0
    labels: list[str] | None = None

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> TaskSources:
        """From a ``[training.tasks.<name>]`` section, or its copy in ``training_metrics.json``."""
        return cls(
            train=list(section.get("train") or []),
            dev=list(section.get("dev") or []),
            holdout=section.get("holdout"),
            holdout_fraction=float(section.get("holdout_fraction") or 0.0),
            labels=list(section["labels"]) if section.get("labels") else None,
        )


@dataclass
class TaskData:
    """Train and dev examples of one task, with its label list."""

    name: str
    labels: list[str]
    train: list[Example]
    dev: list[Example]


@dataclass
class TrainingData:
    """Every task's data plus a JSON-able report (counts only, never text)."""

    tasks: dict[str, TaskData]
    report: dict[str, Any] = field(default_factory=dict)


def default_corpora_root() -> Path:
    """``$ALIA_CLIN_CORPORA``, else ``../shared/corpora`` beside the source checkout."""
    env = os.environ.get("ALIA_CLIN_CORPORA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "corpora"


def canonical_id(name: str) -> str:
    """The document id shared across corpora: file stem without a language prefix (``es-S0004…``)."""
    return _ID_PREFIX.sub("", name)


def corpus_spec(source: str) -> CorpusSpec:
    """The :class:`CorpusSpec` of a ``corpus/split`` source (E132 for E3C, E134 for unknown)."""
    corpus = source.strip("/").split("/", 1)[0]
    if corpus.lower() in FORBIDDEN_CORPORA:
        raise AliaClinValueError(ErrorCode.E132, source=source, license=FORBIDDEN_CORPORA[corpus.lower()])
    if corpus not in CORPORA:
        raise AliaClinValueError(ErrorCode.E134, source=source, choices=", ".join(CORPORA))
    return CORPORA[corpus]


@dataclass
class _ReadStats:
    kept: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    unmapped: Counter[str] = field(default_factory=Counter)
    documents: int = 0


def read_source(root: str | Path, source: str, *, stats: _ReadStats | None = None) -> list[Example]:
    """Read every note of one source (``corpus/split``) with mapped labels, sorted by file name.

    Raises ``E131`` when the folder is missing. Discontinuous BRAT spans are read as their
    covering span; spans outside the text are skipped.
    """
    spec = corpus_spec(source)
    folder = Path(root) / source
    if not folder.is_dir():
        raise AliaClinValueError(ErrorCode.E131, source=source, root=str(root))
    stats = stats if stats is not None else _ReadStats()
    out = []
    for txt in sorted(folder.glob("*.txt")):
        if txt.name.upper().startswith(("README", "LICENSE")):
            continue
        text = read_text(txt)
        spans: set[GoldSpan] = set()
        for ent in read_ann(txt.with_suffix(".ann")).entities:
            label = spec.map_label(ent.label)
            if label is None:
                (stats.dropped if ent.label in spec.dropped else stats.unmapped)[ent.label] += 1
                continue
            if ent.end > len(text) or ent.start >= ent.end:
                stats.unmapped["<bad offsets>"] += 1
                continue
            spans.add((ent.start, ent.end, label))
            stats.kept[label] += 1
        stats.documents += 1
        out.append(Example(canonical_id(txt.stem), text, sorted(spans), [source], spec.annotated()))
    return out


def resolve_overlaps(spans: Iterable[GoldSpan]) -> list[GoldSpan]:
    """A flat (non-overlapping) subset for one-tag-per-word training: longest first, then earliest."""
    kept: list[GoldSpan] = []
    for s in sorted(set(spans), key=lambda x: (-(x[1] - x[0]), x[0], x[2])):
        if all(s[1] <= k[0] or k[1] <= s[0] for k in kept):
            kept.append(s)
    return sorted(kept)


def _bucket(key: str) -> float:
    """A stable number in [0, 1) from a key (SHA-256), for hashed splits."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2**64


class _Groups:
    """Union-find over documents (keyed by ``(source, index)``) linked by id or shared sentences."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, x: Any) -> Any:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: Any, b: Any) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _sentence_keys(text: str) -> set[bytes]:
    """Link keys of a document: its whole normalized text, and each long sentence."""
    keys = {hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=12, person=b"doc").digest()}
    for sent in _SENTENCE_SPLIT.split(text):
        norm = " ".join(sent.split())
        if len(norm) >= LINK_MIN_CHARS:
            keys.add(hashlib.blake2b(norm.encode("utf-8"), digest_size=12).digest())
    return keys


def _merge(examples: Iterable[Example], counts: Counter[str]) -> list[Example]:
    """One example per canonical id: identical texts merge (union of spans and annotated labels);
    a copy with a different text is dropped (counted)."""
    by_id: dict[str, Example] = {}
    for ex in examples:
        seen = by_id.get(ex.id)
        if seen is None:
            by_id[ex.id] = Example(ex.id, ex.text, list(ex.spans), list(ex.sources), ex.annotated)
        elif seen.text == ex.text:
            seen.spans = sorted(set(seen.spans) | set(ex.spans))
            seen.sources.extend(s for s in ex.sources if s not in seen.sources)
            if seen.annotated is None or ex.annotated is None:
                seen.annotated = None
            else:
                seen.annotated = seen.annotated | ex.annotated
            counts["merged_copies"] += 1
        else:
            counts["conflicting_copies_dropped"] += 1
    return [by_id[k] for k in sorted(by_id)]


def _restrict(ex: Example, labels: Sequence[str]) -> Example:
    keep = set(labels)
    annotated = None if ex.annotated is None else frozenset(ex.annotated & keep)
    return Example(ex.id, ex.text, [s for s in ex.spans if s[2] in keep], ex.sources, annotated)


def build_training_data(root: str | Path, tasks: Mapping[str, TaskSources]) -> TrainingData:
    """Read, map, link, split and deduplicate every task's sources (see the module docstring).

    Raises ``E131`` (missing source folder), ``E132`` (E3C), ``E133`` (a task ends up with no
    train or no dev documents), ``E134`` (unknown corpus).
    """
    root = Path(root)
    sources = sorted({s for t in tasks.values() for s in [*t.train, *t.dev]})
    for t in tasks.values():
        if t.holdout is not None and t.holdout not in t.train:
            sources = sorted({*sources, t.holdout})
    read: dict[str, list[Example]] = {}
    stats: dict[str, _ReadStats] = {}
    for src in sources:
        stats[src] = _ReadStats()
        read[src] = read_source(root, src, stats=stats[src])

    # Link documents: same canonical id, or a shared long sentence.
    groups = _Groups()
    first_by_id: dict[str, tuple[str, int]] = {}
    first_by_sentence: dict[bytes, tuple[str, int]] = {}
    for src in sources:
        for i, ex in enumerate(read[src]):
            node = (src, i)
            groups.find(node)
            other = first_by_id.setdefault(ex.id, node)
            groups.union(node, other)
            for key in _sentence_keys(ex.text):
                groups.union(node, first_by_sentence.setdefault(key, node))
    members: dict[Any, list[str]] = {}
    for src in sources:
        for i, ex in enumerate(read[src]):
            members.setdefault(groups.find((src, i)), []).append(ex.id)
    group_key = {root_: min(ids) for root_, ids in members.items()}

    # Dev groups of every task.
    dev_nodes: dict[str, list[tuple[str, int]]] = {}
    dev_groups: set[Any] = set()
    for name, t in tasks.items():
        nodes = [(src, i) for src in t.dev for i in range(len(read[src]))]
        if t.holdout is not None and t.holdout_fraction > 0:
            for i in range(len(read[t.holdout])):
                if _bucket(group_key[groups.find((t.holdout, i))]) < t.holdout_fraction:
                    nodes.append((t.holdout, i))
        dev_nodes[name] = nodes
        dev_groups.update(groups.find(n) for n in nodes)

    out: dict[str, TaskData] = {}
    report: dict[str, Any] = {"root": root.name, "tasks": {}, "sources": {}}
    for src in sources:
        st = stats[src]
        report["sources"][src] = {
            "documents": st.documents,
            "spans_kept": dict(sorted(st.kept.items())),
            "labels_dropped": dict(sorted(st.dropped.items())),
            "labels_unmapped": dict(sorted(st.unmapped.items())),
        }
        if st.dropped:
            logger.info("%s: labels dropped on purpose: %s", src, dict(st.dropped))
    for name, t in tasks.items():
        counts: Counter[str] = Counter()
        dev_set = set(dev_nodes[name])
        train_raw = []
        for src in t.train:
            for i, ex in enumerate(read[src]):
                node = (src, i)
                if node in dev_set:
                    continue
                if groups.find(node) in dev_groups:
                    counts["train_docs_removed_as_dev_linked"] += 1
                    continue
                train_raw.append(ex)
        dev_raw = [read[src][i] for src, i in sorted(dev_nodes[name])]
        train = _merge(train_raw, counts)
        dev = _merge(dev_raw, counts)
        labels = list(t.labels) if t.labels else sorted({s[2] for ex in [*train, *dev] for s in ex.spans})
        train = [_restrict(ex, labels) for ex in train]
        dev = [_restrict(ex, labels) for ex in dev]
        if not train or not dev:
            raise AliaClinValueError(ErrorCode.E133, task=name, split="train" if not train else "dev")
        out[name] = TaskData(name, labels, train, dev)
        report["tasks"][name] = {
            "labels": labels,
            "train_docs": len(train),
            "dev_docs": len(dev),
            "train_spans": dict(sorted(Counter(s[2] for ex in train for s in ex.spans).items())),
            "dev_spans": dict(sorted(Counter(s[2] for ex in dev for s in ex.spans).items())),
            **dict(sorted(counts.items())),
        }
        logger.info("task %s: %d train / %d dev documents %s", name, len(train), len(dev), dict(counts))
    return TrainingData(out, report)

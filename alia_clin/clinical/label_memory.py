"""Label memory: the label an entity's exact wording almost always has in the training gold.

A tagger sometimes gives a frequent, unambiguous mention the wrong label ("cardiomegalia" as
SINTOMA where the training gold says ENFERMEDAD 47 times of 49). :func:`build_label_memory`
counts, over the gold spans of the *training* split only, the labels of each wording
(:func:`memory_key`: lower case, whitespace collapsed) and keeps the wordings seen at least
``min_count`` times with one label in at least ``min_share`` of them. :meth:`LabelMemory.relabel`
gives an entity of ``doc.ents`` whose whole wording is kept that label (only entities whose
label is one of the memory's labels; offsets never change). For each kept wording the memory
also stores its *precision* in the training texts: the share of its occurrences there (any case,
at word boundaries) that are gold mentions with that label; :class:`MemoryFinder` adds the
occurrences of the wordings whose precision reaches a threshold where no entity is yet. Wordings
whose top label has a smaller share (at least ``find_share``) are kept for the finder only
(``found``): often enough right to add where the tagger found nothing, not to overrule it.

Both look wordings up without accents (:func:`folded_key`: "cardiaca" finds "cardíaca"; ñ and ç
are kept), because many notes are typed without them and Spanish writes some words both ways.
Wordings that fold to the same form but carry different labels are not looked up that way. The
memory also keeps the short one-word wordings the training gold writes in capitals
(``capitals``: "FA", "HTA", "IC"); the finder does not add such a wording written in lower case in a note that
uses capitals ("des de *fa* 10 dies" is Catalan for "10 days ago"), only in a note written all
in lower case.

``alia_ner`` stores one in its folder (:data:`MEMORY_FILE`) and applies it after decoding;
``alia-clin models label-memory`` builds it from a trained pipeline's training split. The
wordings are clinical terms from annotated corpora (the shipped one: CardioCCC train, CC BY
4.0), never a user's notes; nothing here logs them.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..encoder.casing import strip_accents_same_length
from ..entities import relabel_entities
from ..errors import AliaClinValueError, ErrorCode
from ..text import is_inline_gap

MEMORY_FILE = "label_memory.json"
FORMAT = "alia_clin.label_memory.v1"
#: Default least number of gold mentions of a kept wording. Chosen on CardioCCC train alone (5
#: folds, memory built on four, occurrences counted in the fifth's texts): wordings seen 2 times
#: were a gold mention with the kept label in 70 % of their held-out occurrences and had the
#: kept label in 99 % of those that were gold mentions (5 or more times: 83 % and 99.7 %), far
#: above the F1 / 2 that adding a mention has to beat.
MIN_COUNT = 2
#: Default least share of a wording's gold mentions that carry its kept label.
MIN_SHARE = 0.9
#: Least share of a one-word wording's gold mentions written in capitals for it to count as an
#: abbreviation (:attr:`LabelMemory.capitals`), and its longest length: short ones are those that
#: clash with words written in lower case ("fa", "pan", "pres", "ado").
CAPITALS_SHARE = 0.9
CAPITALS_MAX_LENGTH = 4
#: A note whose cased letters are less than this share upper case is "written in lower case":
#: there the finder also adds abbreviations written in lower case.
LOWER_CASE_NOTE = 0.01
#: Default least share of a wording kept for the finder only (its majority label, below
#: ``MIN_SHARE``). On the same held-out folds, such wordings with training-text precision >= .5
#: were gold mentions with their label in 69 % of their occurrences (worth adding where nothing
#: was found), but their label was right in only 83 % of those that were gold mentions, too few
#: to overrule the tagger's label.
FIND_SHARE = 0.6


def memory_key(text: str) -> str:
    """The wording of a mention as the memory compares it: lower case, whitespace collapsed."""
    return " ".join(text.lower().split())


def folded_key(text: str) -> str:
    """:func:`memory_key` without accents (ñ and ç kept): how wordings are looked up."""
    return strip_accents_same_length(memory_key(text))


@dataclass(frozen=True)
class LabelMemory:
    """Wording → label (used to relabel and to find), wording → label for the finder only
    (``found``: majority label below ``min_share``), wording → precision in the training texts,
    and how it was built (``min_count``, ``min_share``, ``find_share``, ``sources``)."""

    labels: dict[str, str]
    min_count: int
    min_share: float
    sources: list[str] = field(default_factory=list)
    precision: dict[str, float] = field(default_factory=dict)
    found: dict[str, str] = field(default_factory=dict)
    find_share: float | None = None
    capitals: frozenset[str] = frozenset()

    @cached_property
    def folded_labels(self) -> dict[str, str]:
        """:func:`folded_key` → label of :attr:`labels` (the relabelling wordings), for the folded
        forms whose wordings all have one label."""
        return _folded(self.labels)

    @cached_property
    def finder_labels(self) -> dict[str, str]:
        """Every wording the finder may add: :attr:`found` and :attr:`labels` together."""
        return {**self.found, **self.labels}

    @cached_property
    def folded_finder_labels(self) -> dict[str, str]:
        """Like :attr:`folded_labels`, over :attr:`finder_labels`."""
        return _folded(self.finder_labels)

    def relabel(self, doc: Doc) -> int:
        """Give every entity of ``doc.ents`` whose wording is kept (compared without accents,
        :func:`folded_key`) the kept label; returns the number of entities changed."""
        known = set(self.labels.values())
        folded = self.folded_labels
        return relabel_entities(
            doc, lambda ent: folded.get(folded_key(ent.text)) if ent.label_ in known else None
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (wordings sorted)."""
        return {
            "format": FORMAT,
            "min_count": self.min_count,
            "min_share": self.min_share,
            "sources": list(self.sources),
            "labels": dict(sorted(self.labels.items())),
            "precision": dict(sorted(self.precision.items())),
            "find_share": self.find_share,
            "found": dict(sorted(self.found.items())),
            "capitals": sorted(self.capitals),
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
            precision={str(k): float(v) for k, v in data.get("precision", {}).items()},
            found={str(k): str(v) for k, v in (data.get("found") or {}).items()},
            find_share=None if data.get("find_share") is None else float(data["find_share"]),
            capitals=frozenset(str(k) for k in data.get("capitals", [])),
        )


def _folded(labels: dict[str, str]) -> dict[str, str]:
    """:func:`folded_key` → label, for the folded forms whose wordings all have one label."""
    by_fold: defaultdict[str, set[str]] = defaultdict(set)
    for key, label in labels.items():
        by_fold[folded_key(key)].add(label)
    return {fold: next(iter(found)) for fold, found in by_fold.items() if len(found) == 1}


def build_label_memory(
    examples: Iterable[tuple[str, Sequence[tuple[int, int, str]]]],
    *,
    labels: Sequence[str],
    min_count: int = MIN_COUNT,
    min_share: float = MIN_SHARE,
    find_share: float | None = FIND_SHARE,
    sources: Sequence[str] = (),
) -> LabelMemory:
    """Count the labels of each gold wording in ``examples`` (``(text, [(start, end, label)])``;
    spans of other labels are ignored) and keep those seen ``min_count`` times or more with one
    label in at least ``min_share`` of them (``labels``), and, for the finder only, those whose
    top label has a share in [``find_share``, ``min_share``) (``found``; None or a share of at
    least ``min_share``: none). ``E107`` for a bad ``min_count``, ``min_share`` or ``find_share``."""
    if min_count < 1:
        raise AliaClinValueError(ErrorCode.E107, value=str(min_count), field="min_count", choices=">= 1")
    if not 0.5 < min_share <= 1.0:
        raise AliaClinValueError(ErrorCode.E107, value=str(min_share), field="min_share", choices="(0.5, 1]")
    if find_share is not None and not 0.5 < find_share <= 1.0:
        raise AliaClinValueError(
            ErrorCode.E107, value=str(find_share), field="find_share", choices="(0.5, 1]"
        )
    wanted = set(labels)
    examples = list(examples)
    counts: defaultdict[str, Counter[str]] = defaultdict(Counter)
    upper: Counter[str] = Counter()
    for text, spans in examples:
        for start, end, label in spans:
            if label in wanted:
                key = memory_key(text[start:end])
                counts[key][label] += 1
                upper[key] += text[start:end].isupper()
    kept: dict[str, str] = {}
    found: dict[str, str] = {}
    for key, by_label in counts.items():
        total = sum(by_label.values())
        label, n = by_label.most_common(1)[0]
        if not key or total < min_count:
            continue
        if n / total >= min_share:
            kept[key] = label
        elif find_share is not None and n / total >= find_share:
            found[key] = label
    capitals = frozenset(
        key
        for key in {**kept, **found}
        if " " not in key
        and len(key) <= CAPITALS_MAX_LENGTH
        and upper[key] >= CAPITALS_SHARE * sum(counts[key].values())
    )
    return LabelMemory(
        kept,
        min_count,
        min_share,
        list(sources),
        _precision({**kept, **found}, examples),
        found=found,
        find_share=find_share,
        capitals=capitals,
    )


def _precision(
    kept: dict[str, str], examples: Sequence[tuple[str, Sequence[tuple[int, int, str]]]]
) -> dict[str, float]:
    """Per kept wording: gold mentions with its label / occurrences in the texts."""
    gold = [{(s, e, lab) for s, e, lab in spans} for _, spans in examples]
    out: dict[str, float] = {}
    for key, label in kept.items():
        pattern = re.compile(r"(?<!\w)" + r"\s+".join(map(re.escape, key.split())) + r"(?!\w)", re.IGNORECASE)
        seen = hits = 0
        for (text, _), spans in zip(examples, gold, strict=True):
            for m in pattern.finditer(text):
                seen += 1
                hits += (m.start(), m.end(), label) in spans
        out[key] = round(hits / seen, 4) if seen else 0.0
    return out


def _lower_case_note(text: str) -> bool:
    """Whether fewer than :data:`LOWER_CASE_NOTE` of the note's cased letters are upper case."""
    cased = [ch for ch in text if ch.isupper() or ch.islower()]
    return not cased or sum(ch.isupper() for ch in cased) < LOWER_CASE_NOTE * len(cased)


class MemoryFinder:
    """Finds, in a doc, the memory's wordings (:attr:`LabelMemory.labels` and
    :attr:`LabelMemory.found`) whose training-text precision is at least
    ``min_precision`` (token sequences compared in lower case and without accents), labelled as
    the memory says. A folded form is looked for when every wording that folds to it has one
    label and reaches the precision. A wording of :attr:`LabelMemory.capitals` written without
    a capital is skipped unless the note is written in lower case (:data:`LOWER_CASE_NOTE`)."""

    def __init__(self, memory: LabelMemory, nlp: Language, min_precision: float) -> None:
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        self._labels: dict[int, str] = {}
        self._vocab = nlp.vocab
        folded = memory.folded_finder_labels
        self._capitals = {self._vocab.strings.add(folded_key(key)) for key in memory.capitals}
        precise: defaultdict[str, list[bool]] = defaultdict(list)
        for key in memory.finder_labels:
            precise[folded_key(key)].append(memory.precision.get(key, 0.0) >= min_precision)
        for fold, label in folded.items():
            if all(precise[fold]):
                match_id = nlp.vocab.strings.add(fold)
                self._labels[match_id] = label
                self.matcher.add(fold, [nlp.make_doc(fold)])

    def mentions(self, doc: Doc) -> list[tuple[int, int, str]]:
        """``(start token, end token, label)`` of every occurrence of a wording in ``doc``: what
        :meth:`extend_mentions` and :meth:`add_mentions` read (the doc is matched once for both).

        Whitespace tokens inside a line (extra spaces, a tab, a no-break space) are skipped, so
        "insuficiencia  cardíaca" is found as "insuficiencia cardíaca"; a mention never starts or
        ends on one, and a line break still separates wordings.
        """
        at = [t.i for t in doc if not is_inline_gap(t.text)]
        bare = Doc(
            self._vocab,
            words=[strip_accents_same_length(doc[i].text) for i in at],
            spaces=[bool(doc[i].whitespace_) for i in at],
        )
        found = self.matcher(bare)
        if self._capitals and not _lower_case_note(doc.text):
            found = [
                (m, s, e) for m, s, e in found if m not in self._capitals or not bare[s:e].text.islower()
            ]
        return [(at[start], at[end - 1] + 1, self._labels[match_id]) for match_id, start, end in found]

    def extend_mentions(self, doc: Doc, blocked: set[int], mentions: list[tuple[int, int, str]]) -> int:
        """Widen each entity of ``doc.ents`` that is a proper part of a found mention with its
        label, sharing the mention's first or last token ("miocardiopatía dilatada" in
        "miocardiopatía dilatada no isquémica"), to the longest such mention that overlaps no
        other entity and no token of ``blocked`` (``mentions``: :meth:`mentions` of ``doc``);
        returns how many were widened."""
        ents = list(doc.ents)
        owner = {i: k for k, ent in enumerate(ents) for i in range(ent.start, ent.end)}
        wider: dict[int, Span] = {}
        for start, end, label in sorted(mentions, key=lambda m: m[0] - m[1]):
            if blocked.intersection(range(start, end)):
                continue
            inside = {owner[i] for i in range(start, end) if i in owner}
            if len(inside) != 1:
                continue
            k = inside.pop()
            ent = ents[k]
            part = start <= ent.start and ent.end <= end and (ent.start == start or ent.end == end)
            if k in wider or ent.label_ != label or not part or (ent.start, ent.end) == (start, end):
                continue
            wider[k] = Span(doc, start, end, label=label)
        if wider:
            doc.ents = [wider.get(k, ent) for k, ent in enumerate(ents)]
        return len(wider)

    def add_mentions(self, doc: Doc, blocked: set[int], mentions: list[tuple[int, int, str]]) -> int:
        """Add to ``doc.ents`` every longest found mention that overlaps no entity and no token of
        ``blocked`` (``mentions``: as for :meth:`extend_mentions`); returns how many were added."""
        taken = set(blocked).union(*(range(e.start, e.end) for e in doc.ents))
        found = [
            Span(doc, start, end, label=label)
            for start, end, label in mentions
            if not taken.intersection(range(start, end))
        ]
        new = filter_spans(found)
        if new:
            doc.ents = sorted([*doc.ents, *new], key=lambda sp: sp.start)
        return len(new)

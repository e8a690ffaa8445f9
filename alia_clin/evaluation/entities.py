"""Clinical-entity evaluation: strict and lenient P/R/F1, per label and micro-averaged.

Reads gold and predicted spans per document id (``(start, end, label)``, character offsets, end
exclusive), e.g. two BRAT folders: a gold one and the one ``alia-clin process --output-format
brat`` writes. Labels on both sides go through ``label_map`` first (by default the training
corpora's labels to the project's: CardioCCC's ``DISEASE`` → ``ENFERMEDAD``, ``SYMPTOM`` →
``SINTOMA``, ``PROCEDURE`` → ``PROCEDIMIENTO``, ``MEDICATION`` → ``FARMACO``, PharmaCoNER's
``NORMALIZABLES``/``NO_NORMALIZABLES`` → ``FARMACO``), then only ``labels`` are scored, so the
PHI spans of a prediction folder (and gold labels outside the list) are left out.

* **strict**: a prediction is a true positive when a gold span has the same label and offsets;
* **lenient** (overlap): a prediction is correct when it overlaps a gold span of the same label
  (precision), a gold span is found when a prediction of the same label overlaps it (recall).
  One prediction may find several gold spans and the other way round, as in the usual overlap
  match of the CANTEMIST/DisTEMIST-style evaluations.

Document conventions are those of :mod:`alia_clin.evaluation.deid`: the documents scored are
the gold ones, a gold document without predictions counts as all missed, identical spans are
counted once. Reports hold counts only, never note text or offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from .deid import PRF, Span, SpansByDoc, _ratio, read_paired_dirs

DEFAULT_LABELS = ("ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO")

__all__ = [
    "DEFAULT_LABELS",
    "EntityReport",
    "Lenient",
    "default_label_map",
    "evaluate_entities",
    "evaluate_entity_dirs",
    "format_entity_report",
]


def default_label_map() -> dict[str, str]:
    """Corpus label → project label for every corpus the trainer reads (identities left out)."""
    from ..training.corpora import CORPORA

    out: dict[str, str] = {}
    for spec in CORPORA.values():
        for source, target in spec.label_map.items():
            if source != target:
                out[source] = target
    return out


@dataclass
class Lenient:
    """Overlap-match counts: predictions that overlap a gold span, gold spans overlapped."""

    pred: int = 0
    gold: int = 0
    pred_matched: int = 0
    gold_matched: int = 0

    @property
    def precision(self) -> float:
        """Share of predictions overlapping a gold span of their label (0.0 without any)."""
        return _ratio(self.pred_matched, self.pred)

    @property
    def recall(self) -> float:
        """Share of gold spans overlapped by a prediction of their label (0.0 without any)."""
        return _ratio(self.gold_matched, self.gold)

    @property
    def f1(self) -> float:
        """Harmonic mean of :attr:`precision` and :attr:`recall`."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: Lenient) -> None:
        """Accumulate counts in place."""
        self.pred += other.pred
        self.gold += other.gold
        self.pred_matched += other.pred_matched
        self.gold_matched += other.gold_matched

    def to_dict(self) -> dict[str, float | int]:
        """Counts and unrounded ratios as a JSON-able dict."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "pred": self.pred,
            "gold": self.gold,
            "pred_matched": self.pred_matched,
            "gold_matched": self.gold_matched,
        }


@dataclass
class EntityReport:
    """Result of an entity evaluation (see the module docstring for definitions)."""

    labels: tuple[str, ...] = DEFAULT_LABELS
    strict: PRF = field(default_factory=PRF)
    lenient: Lenient = field(default_factory=Lenient)
    per_label: dict[str, PRF] = field(default_factory=dict)
    per_label_lenient: dict[str, Lenient] = field(default_factory=dict)
    n_docs: int = 0
    missing_pred_docs: int = 0
    extra_pred_docs: int = 0
    #: Spans left out because their (mapped) label is not scored, gold and predicted.
    ignored_gold: int = 0
    ignored_pred: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-able dict of every metric and count."""
        return {
            "labels": list(self.labels),
            "n_docs": self.n_docs,
            "missing_pred_docs": self.missing_pred_docs,
            "extra_pred_docs": self.extra_pred_docs,
            "ignored_gold": self.ignored_gold,
            "ignored_pred": self.ignored_pred,
            "strict": self.strict.to_dict(),
            "lenient": self.lenient.to_dict(),
            "per_label": {
                label: {
                    "strict": self.per_label[label].to_dict(),
                    "lenient": self.per_label_lenient[label].to_dict(),
                }
                for label in self.labels
            },
        }


def _overlaps(span: Span, others: Iterable[Span]) -> bool:
    return any(span[0] < o[1] and o[0] < span[1] for o in others)


def _keep(
    spans: Iterable[Sequence[Any]], label_map: Mapping[str, str], labels: frozenset[str]
) -> tuple[set[Span], int]:
    """Distinct mapped spans with a scored label, and how many spans were left out."""
    kept: set[Span] = set()
    dropped = 0
    for s, e, label in spans:
        mapped = label_map.get(str(label), str(label))
        if mapped in labels:
            kept.add((int(s), int(e), mapped))
        else:
            dropped += 1
    return kept, dropped


def evaluate_entities(
    gold: SpansByDoc,
    pred: SpansByDoc,
    *,
    labels: Sequence[str] = DEFAULT_LABELS,
    label_map: Mapping[str, str] | None = None,
) -> EntityReport:
    """Score predicted entity spans against gold spans, both keyed by document id.

    ``label_map`` (default :func:`default_label_map`) renames labels on both sides before
    scoring; only ``labels`` are scored. Raises ``E107`` for an empty label list.
    """
    if not labels:
        raise AliaClinValueError(
            ErrorCode.E107, value="", field="labels", choices="one or more entity labels"
        )
    mapping = default_label_map() if label_map is None else dict(label_map)
    scored = tuple(dict.fromkeys(labels))
    wanted = frozenset(scored)
    report = EntityReport(
        labels=scored,
        per_label={lab: PRF() for lab in scored},
        per_label_lenient={lab: Lenient() for lab in scored},
    )
    for doc_id in sorted(gold):
        if doc_id not in pred:
            report.missing_pred_docs += 1
        g_all, g_drop = _keep(gold[doc_id], mapping, wanted)
        p_all, p_drop = _keep(pred.get(doc_id, ()), mapping, wanted)
        report.ignored_gold += g_drop
        report.ignored_pred += p_drop
        for label in scored:
            g = {s for s in g_all if s[2] == label}
            p = {s for s in p_all if s[2] == label}
            tp = len(g & p)
            report.per_label[label].add(tp, len(p) - tp, len(g) - tp)
            report.strict.add(tp, len(p) - tp, len(g) - tp)
            counts = Lenient(
                pred=len(p),
                gold=len(g),
                pred_matched=sum(_overlaps(s, g) for s in p),
                gold_matched=sum(_overlaps(s, p) for s in g),
            )
            report.per_label_lenient[label].add(counts)
            report.lenient.add(counts)
    report.n_docs = len(gold)
    report.extra_pred_docs = len(set(pred) - set(gold))
    return report


def evaluate_entity_dirs(
    gold_dir: str | Path,
    pred_dir: str | Path,
    *,
    labels: Sequence[str] = DEFAULT_LABELS,
    label_map: Mapping[str, str] | None = None,
) -> EntityReport:
    """Evaluate a folder of predicted BRAT ``.ann`` files against a gold folder (paired by stem).

    Raises ``E006`` for a missing folder and ``E016`` when both folders hold ``.ann`` files but
    share none.
    """
    gold, pred = read_paired_dirs(gold_dir, pred_dir)
    return evaluate_entities(gold, pred, labels=labels, label_map=label_map)


def format_entity_report(report: EntityReport) -> str:
    """Render a report as a fixed-width plain-text table (no note text, ids or offsets)."""
    names = ["micro", *report.labels]
    width = max(len(n) for n in names) + 2
    header = (
        f"{'':<{width}} {'strict P':>9} {'R':>7} {'F1':>7} {'TP':>6} {'FP':>6} {'FN':>6}"
        f" {'lenient P':>10} {'R':>7} {'F1':>7}"
    )
    rule = "-" * len(header)

    def row(name: str, prf: PRF, len_: Lenient) -> str:
        return (
            f"{name:<{width}} {prf.precision:>9.4f} {prf.recall:>7.4f} {prf.f1:>7.4f}"
            f" {prf.tp:>6d} {prf.fp:>6d} {prf.fn:>6d}"
            f" {len_.precision:>10.4f} {len_.recall:>7.4f} {len_.f1:>7.4f}"
        )

    lines = [
        f"Entity evaluation: {report.n_docs} documents ({report.missing_pred_docs} without predictions);"
        f" spans of other labels left out: {report.ignored_gold} gold, {report.ignored_pred} predicted",
        header,
        rule,
        row("micro", report.strict, report.lenient),
        rule,
    ]
    lines += [row(lab, report.per_label[lab], report.per_label_lenient[lab]) for lab in report.labels]
    return "\n".join(lines)

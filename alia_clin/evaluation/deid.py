"""MEDDOCAN-style evaluation of de-identification.

Gold and predicted PHI spans are given per document id as ``(start, end, label)`` tuples
(character offsets, end exclusive). The report holds:

* **strict** micro P/R/F1: a predicted span is a true positive only when label *and* both
  offsets equal a gold span (MEDDOCAN subtrack 1, "NER offset and entity type");
* **merged** micro P/R/F1: offsets only, the label is ignored (MEDDOCAN subtrack 2 "strict span",
  here computed on exact offsets);
* per-label strict P/R/F1 with their tp/fp/fn counts;
* **character-level PHI recall**: the share of gold PHI characters covered by any predicted span
  of any label, and its complement, the **leak rate** — the fraction of PHI characters that would
  survive redaction.

Conventions: identical spans are counted once (gold and predicted alike); the document set is the
set of gold document ids — a gold document without predictions counts as all missed, predictions
for documents absent from gold are ignored and counted in ``extra_pred_docs``. A ratio whose
denominator is zero is 0.0, except character recall with no gold PHI characters, which is 1.0
(nothing can leak). Reports hold counts and offsets only, never note text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from ..io.brat import read_ann

Span = tuple[int, int, str]
SpansByDoc = Mapping[str, Sequence[Span]]

__all__ = [
    "PRF",
    "DeidReport",
    "Span",
    "evaluate",
    "evaluate_dirs",
    "format_report",
    "read_paired_dirs",
    "read_spans_dir",
]


def _ratio(num: int, den: int) -> float:
    """``num / den``, or 0.0 when ``den`` is zero."""
    return num / den if den else 0.0


@dataclass
class PRF:
    """True positive, false positive and false negative counts with derived P/R/F1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 0.0 without predictions."""
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 0.0 without gold spans."""
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall: 2tp / (2tp + fp + fn)."""
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    @property
    def support(self) -> int:
        """Number of (distinct) gold spans: tp + fn."""
        return self.tp + self.fn

    def add(self, tp: int, fp: int, fn: int) -> None:
        """Accumulate counts in place."""
        self.tp += tp
        self.fp += fp
        self.fn += fn

    def to_dict(self) -> dict[str, float | int]:
        """Counts and unrounded ratios as a JSON-able dict."""
        return {
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "support": self.support,
        }


@dataclass
class DeidReport:
    """Result of a de-identification evaluation (see the module docstring for definitions)."""

    strict: PRF = field(default_factory=PRF)
    merged: PRF = field(default_factory=PRF)
    per_label: dict[str, PRF] = field(default_factory=dict)
    gold_chars: int = 0
    covered_chars: int = 0
    n_docs: int = 0
    missing_pred_docs: int = 0
    extra_pred_docs: int = 0

    @property
    def char_recall(self) -> float:
        """Share of gold PHI characters covered by any predicted span (1.0 without gold PHI)."""
        return self.covered_chars / self.gold_chars if self.gold_chars else 1.0

    @property
    def leak_rate(self) -> float:
        """Share of gold PHI characters left uncovered: ``1 - char_recall``."""
        return 1.0 - self.char_recall

    def to_dict(self) -> dict[str, object]:
        """JSON-able dict of every metric and count."""
        return {
            "n_docs": self.n_docs,
            "missing_pred_docs": self.missing_pred_docs,
            "extra_pred_docs": self.extra_pred_docs,
            "strict": self.strict.to_dict(),
            "merged": self.merged.to_dict(),
            "per_label": {label: prf.to_dict() for label, prf in sorted(self.per_label.items())},
            "char_recall": self.char_recall,
            "leak_rate": self.leak_rate,
            "gold_chars": self.gold_chars,
            "covered_chars": self.covered_chars,
        }


def _intervals_union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge possibly overlapping ``[start, end)`` intervals into sorted disjoint ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _covered_length(gold: list[tuple[int, int]], pred: list[tuple[int, int]]) -> int:
    """Length of the intersection of two sorted disjoint interval lists."""
    total, i, j = 0, 0, 0
    while i < len(gold) and j < len(pred):
        lo = max(gold[i][0], pred[j][0])
        hi = min(gold[i][1], pred[j][1])
        if hi > lo:
            total += hi - lo
        if gold[i][1] < pred[j][1]:
            i += 1
        else:
            j += 1
    return total


def _score_doc(report: DeidReport, gold: set[Span], pred: set[Span]) -> None:
    """Add one document's strict, merged, per-label and character counts to ``report``."""
    tp = len(gold & pred)
    report.strict.add(tp, len(pred) - tp, len(gold) - tp)

    gold_off = {(s, e) for s, e, _ in gold}
    pred_off = {(s, e) for s, e, _ in pred}
    mtp = len(gold_off & pred_off)
    report.merged.add(mtp, len(pred_off) - mtp, len(gold_off) - mtp)

    for label in {lab for _, _, lab in gold | pred}:
        g = {s for s in gold if s[2] == label}
        p = {s for s in pred if s[2] == label}
        ltp = len(g & p)
        report.per_label.setdefault(label, PRF()).add(ltp, len(p) - ltp, len(g) - ltp)

    gold_iv = _intervals_union(gold_off)
    report.gold_chars += sum(e - s for s, e in gold_iv)
    report.covered_chars += _covered_length(gold_iv, _intervals_union(pred_off))


def _as_set(spans: Iterable[Sequence[Any]]) -> set[Span]:
    """Distinct ``(start, end, label)`` tuples (accepts lists, e.g. spans read back from JSON)."""
    return {(int(s), int(e), str(label)) for s, e, label in spans}


def evaluate(gold: SpansByDoc, pred: SpansByDoc) -> DeidReport:
    """Score predicted PHI spans against gold spans, both keyed by document id.

    The documents scored are the keys of ``gold``; a gold document missing from ``pred`` counts
    as all missed. Identical spans within a document are counted once.
    """
    report = DeidReport()
    for doc_id in sorted(gold):
        if doc_id not in pred:
            report.missing_pred_docs += 1
        _score_doc(report, _as_set(gold[doc_id]), _as_set(pred.get(doc_id, ())))
    report.n_docs = len(gold)
    report.extra_pred_docs = len(set(pred) - set(gold))
    return report


def read_spans_dir(path: str | Path) -> dict[str, list[Span]]:
    """Read every ``*.ann`` file in a folder as ``{stem: [(start, end, label), ...]}``.

    Discontinuous entities are read as their covering span. Raises ``E006`` when the folder does
    not exist.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise AliaClinValueError(ErrorCode.E006, path=str(folder))
    return {
        ann.stem: [(e.start, e.end, e.label) for e in read_ann(ann).entities]
        for ann in sorted(folder.glob("*.ann"))
    }


def evaluate_dirs(gold_dir: str | Path, pred_dir: str | Path) -> DeidReport:
    """Evaluate a folder of predicted BRAT ``.ann`` files against a gold folder.

    Files are paired by stem. A gold document without a prediction file counts as all missed.
    Raises ``E006`` for a missing folder and ``E016`` when both folders hold ``.ann`` files but
    share none.
    """
    return evaluate(*read_paired_dirs(gold_dir, pred_dir))


def read_paired_dirs(
    gold_dir: str | Path, pred_dir: str | Path
) -> tuple[dict[str, list[Span]], dict[str, list[Span]]]:
    """Gold and predicted spans of two BRAT folders (:func:`read_spans_dir`); ``E016`` when both
    hold ``.ann`` files but share no document."""
    gold = read_spans_dir(gold_dir)
    pred = read_spans_dir(pred_dir)
    if gold and pred and not set(gold) & set(pred):
        raise AliaClinValueError(ErrorCode.E016, gold=str(gold_dir), pred=str(pred_dir))
    return gold, pred


def _row(name: str, prf: PRF, width: int) -> str:
    """One fixed-width table row."""
    return (
        f"{name:<{width}} {prf.precision:>7.4f} {prf.recall:>7.4f} {prf.f1:>7.4f}"
        f" {prf.tp:>6d} {prf.fp:>6d} {prf.fn:>6d}"
    )


def format_report(report: DeidReport) -> str:
    """Render a report as a fixed-width plain-text table (no note text, ids or offsets)."""
    names = ["strict (label+offsets)", "merged (offsets only)", *report.per_label]
    width = max(len(n) for n in names) + 2
    header = f"{'':<{width}} {'P':>7} {'R':>7} {'F1':>7} {'TP':>6} {'FP':>6} {'FN':>6}"
    rule = "-" * len(header)
    lines = [
        f"De-identification evaluation: {report.n_docs} documents"
        f" ({report.missing_pred_docs} without predictions)",
        header,
        rule,
        _row(names[0], report.strict, width),
        _row(names[1], report.merged, width),
        rule,
        "per label (strict)",
    ]
    by_support = sorted(report.per_label.items(), key=lambda kv: (-kv[1].support, kv[0]))
    lines += [_row("  " + label, prf, width) for label, prf in by_support]
    lines += [
        rule,
        f"character-level PHI recall {report.char_recall:.4f}"
        f"  leak rate {report.leak_rate:.4f}"
        f"  ({report.covered_chars}/{report.gold_chars} PHI characters covered)",
    ]
    return "\n".join(lines)

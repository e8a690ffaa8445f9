"""Dictionary entity recognition (``alia_terms``) on the NER dev split.

Usage (from the repository root)::

    python benchmarks/terms_benchmark.py --corpora ../shared/corpora --out benchmarks/results/terms

The dev split is the trainer's (``pipelines/clinical.cfg``): 20 % of CardioCCC train by hashed
document group (documents linked across CardioCCC and DisTEMIST/SympTEMIST/MedProcNER by id or a
shared sentence stay on one side). The curated terminology table was written with mention
frequencies of CardioCCC and DisTEMIST train in view, so these dev documents are not strictly
unseen by the table's author: read the figures as indicative.

Scores, per label and micro-averaged: strict (same offsets and label) and lenient (overlapping
span with the same label) precision / recall / F1. Writes ``<out>.json`` (metrics and counts,
never text) and ``<out>.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import default_corpora_dir, machine_info, versions, write_result

LABELS = ("ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO")


def _prf(tp: int, n_pred: int, n_gold: int, tp_gold: int | None = None) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = (tp if tp_gold is None else tp_gold) / n_gold if n_gold else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


def score(
    gold: list[list[tuple[int, int, str]]], pred: list[list[tuple[int, int, str]]]
) -> dict[str, Any]:
    """Strict and lenient P/R/F1 per label and micro-averaged."""
    counts: dict[str, Counter[str]] = {lab: Counter() for lab in LABELS}
    for g_doc, p_doc in zip(gold, pred, strict=True):
        g_set, p_set = set(g_doc), set(p_doc)
        for lab in LABELS:
            g = [s for s in g_set if s[2] == lab]
            p = [s for s in p_set if s[2] == lab]
            c = counts[lab]
            c["gold"] += len(g)
            c["pred"] += len(p)
            c["strict_tp"] += len(set(g) & set(p))
            c["lenient_tp_pred"] += sum(any(a < d and c2 < b for c2, d, _ in g) for a, b, _ in p)
            c["lenient_tp_gold"] += sum(any(a < d and c2 < b for c2, d, _ in p) for a, b, _ in g)
    out: dict[str, Any] = {"labels": {}}
    total: Counter[str] = Counter()
    for lab, c in counts.items():
        total.update(c)
        out["labels"][lab] = {
            "gold": c["gold"],
            "pred": c["pred"],
            "strict": _prf(c["strict_tp"], c["pred"], c["gold"]),
            "lenient": _prf(c["lenient_tp_pred"], c["pred"], c["gold"], c["lenient_tp_gold"]),
        }
    out["micro"] = {
        "gold": total["gold"],
        "pred": total["pred"],
        "strict": _prf(total["strict_tp"], total["pred"], total["gold"]),
        "lenient": _prf(total["lenient_tp_pred"], total["pred"], total["gold"], total["lenient_tp_gold"]),
    }
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, default=default_corpora_dir())
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/terms"))
    args = ap.parse_args(argv)

    import alia_clin
    from alia_clin.entities import entity_spans
    from alia_clin.training.corpora import TaskSources, build_training_data

    data = build_training_data(
        args.corpora,
        {
            "ner": TaskSources(
                train=["cardioccc/train", "distemist_symptemist_medprocner/train"],
                holdout="cardioccc/train",
                holdout_fraction=0.2,
                labels=list(LABELS),
            )
        },
    )
    dev = data.tasks["ner"].dev
    nlp = alia_clin.build_rules_pipeline()
    start = time.perf_counter()
    with nlp.select_pipes(enable=["alia_terms"]):
        docs = list(nlp.pipe(ex.text for ex in dev))
    elapsed = time.perf_counter() - start
    gold = [[(s[0], s[1], s[2]) for s in ex.spans] for ex in dev]
    pred = [[(e.start_char, e.end_char, e.label_) for e in entity_spans(doc)] for doc in docs]
    result = {
        "benchmark": "alia_terms dictionary NER",
        "dev": {"source": "cardioccc/train holdout 0.2 (hashed groups)", "documents": len(dev)},
        "scores": score(gold, pred),
        "speed": {
            "docs": len(docs),
            "wall_s": round(elapsed, 3),
            "docs_per_s": round(len(docs) / elapsed, 1),
        },
        "machine": machine_info(),
        "versions": versions(["alia-clin", "spacy"]),
    }
    write_result(args.out, result, _plot)
    return 0


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [*LABELS, "micro"]
    rows = [result["scores"]["labels"][lab] for lab in LABELS] + [result["scores"]["micro"]]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.2
    for k, (mode, metric) in enumerate(
        [("strict", "precision"), ("strict", "recall"), ("lenient", "precision"), ("lenient", "recall")]
    ):
        xs = [i + k * width for i in range(len(labels))]
        ax.bar(xs, [r[mode][metric] for r in rows], width, label=f"{mode} {metric}")
    ax.set_xticks([i + 1.5 * width for i in range(len(labels))], labels)
    ax.set_ylim(0, 1)
    ax.set_title(f"alia_terms on CardioCCC dev ({result['dev']['documents']} docs)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

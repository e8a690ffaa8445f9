"""Robustness of a pipeline to how a note is cased: ordinary, lower case, capitals.

Usage (from the repository root)::

    python benchmarks/casing_benchmark.py --model models/alia-clin-es-small \
        --corpora ../shared/corpora --out benchmarks/results/casing
    python benchmarks/casing_benchmark.py --model models/alia-clin-rules \
        --splits-from models/alia-clin-es-small --out benchmarks/results/casing_rules

Many hospital systems export notes in capitals, and some notes are typed in lower case. This
rebuilds the dev splits the pipeline was trained with (as ``model_benchmark.py`` does: MEDDOCAN
dev for PHI, the hashed CardioCCC holdout for entities), writes each note three ways with every
character at its place (``ordinary``; ``lower``; ``capitals``: each character upper-cased where
that keeps it one character) and runs the shipped stages on each:

* PHI: ``alia_encoder`` + ``alia_deid`` (rules + head as configured): strict P/R/F1 and character
  recall (1 − leak rate), per label;
* entities: ``alia_encoder`` + ``alia_ner`` + ``alia_terms``: strict/lenient P/R/F1, per label.

A pipeline without an encoder (``alia-clin-rules``) runs the stages it has (``alia_deid``;
``alia_terms``) on the dev splits of ``--splits-from`` (a pipeline with ``training_metrics.json``).
With an encoder, the ``capitals`` notes run twice: with the encoder's ``case_fold`` as shipped and with
``case_fold = "none"`` (what the pipeline did before folding existed). For ``ordinary`` and
``lower`` notes folding changes nothing; the JSON records how many of their notes it would
touch (``folded_notes``), so that claim is checked, not assumed. Test splits are never read.
Writes ``<out>.json`` (scores and counts, never text) and ``<out>.png``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import NetworkGuard, default_corpora_dir, run_facts, write_result
from model_benchmark import dev_splits
from terms_benchmark import LABELS
from terms_benchmark import score as score_entities

VARIANTS = ("ordinary", "lower", "capitals")


def recase(text: str, variant: str) -> str:
    """``text`` written as ``variant``, character by character (offsets unchanged)."""
    from alia_clin.encoder.casing import map_same_length

    if variant == "ordinary":
        return text
    return map_same_length(text, str.lower if variant == "lower" else str.upper)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--splits-from", type=Path, default=None,
                    help="pipeline whose training_metrics.json gives the dev splits (default: --model)")
    ap.add_argument("--corpora", type=Path, default=default_corpora_dir())
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/casing"))
    ap.add_argument("--limit", type=int, default=0, help="first N notes of each dev split (0 = all)")
    args = ap.parse_args(argv)

    import alia_clin
    from alia_clin.deid.document import PHI_KEY
    from alia_clin.encoder.casing import fold_capitals
    from alia_clin.entities import entity_spans
    from alia_clin.evaluation.deid import evaluate

    _, phi_dev, ner_dev = dev_splits(args.splits_from or args.model, args.corpora, args.limit)

    guard = NetworkGuard().install()
    nlp = alia_clin.load(args.model)
    has_encoder = "alia_encoder" in nlp.pipe_names
    enc_cfg = nlp.get_pipe("alia_encoder").cfg if has_encoder else {}  # type: ignore[attr-defined]
    shipped_fold = str(enc_cfg.get("case_fold", "none")) if has_encoder else "no encoder"

    def present(names: list[str]) -> list[str]:
        return [n for n in names if n in nlp.pipe_names]
    phi_gold = {ex.id: ex.spans for ex in phi_dev}
    ner_gold = [[(s[0], s[1], s[2]) for s in ex.spans if s[2] in LABELS] for ex in ner_dev]

    def run_phi(texts: list[str]) -> dict[str, Any]:
        with nlp.select_pipes(enable=present(["alia_encoder", "alia_deid"])):
            docs = nlp.pipe(texts)
            pred = {
                ex.id: [(s.start_char, s.end_char, s.label_) for s in d.spans.get(PHI_KEY, [])]
                for ex, d in zip(phi_dev, docs, strict=True)
            }
        d = evaluate(phi_gold, pred).to_dict()
        return {
            "strict": {k: d["strict"][k] for k in ("precision", "recall", "f1")},
            "char_recall": d["char_recall"],
            "per_label_f1": {lab: v["f1"] for lab, v in d["per_label"].items()},
        }

    def run_ner(texts: list[str]) -> dict[str, Any]:
        with nlp.select_pipes(enable=present(["alia_encoder", "alia_ner", "alia_terms"])):
            docs = nlp.pipe(texts)
            pred = [[(e.start_char, e.end_char, e.label_) for e in entity_spans(d)] for d in docs]
        return score_entities(ner_gold, pred)

    runs: dict[str, Any] = {}
    t0 = time.perf_counter()
    for variant in VARIANTS:
        phi_texts = [recase(ex.text, variant) for ex in phi_dev]
        ner_texts = [recase(ex.text, variant) for ex in ner_dev]
        folded = {
            "phi_notes": sum(fold_capitals(t) != t for t in phi_texts),
            "ner_notes": sum(fold_capitals(t) != t for t in ner_texts),
        }
        both = has_encoder and variant == "capitals" and shipped_fold != "none"
        for fold in [shipped_fold, "none"] if both else [shipped_fold]:
            enc_cfg["case_fold"] = fold
            runs[f"{variant}/case_fold={fold}" if has_encoder else variant] = {
                "variant": variant,
                "case_fold": fold,
                "folded_notes": folded,
                "phi": run_phi(phi_texts),
                "entities": run_ner(ner_texts),
            }
        enc_cfg["case_fold"] = shipped_fold
    result = {
        "benchmark": "casing robustness",
        "model": args.model.name,
        "shipped_case_fold": shipped_fold,
        "phi_dev": {"source": "meddocan/dev", "documents": len(phi_dev)},
        "ner_dev": {"source": "cardioccc/train holdout (hashed groups)", "documents": len(ner_dev)},
        "runs": runs,
        "wall_s": round(time.perf_counter() - t0, 1),
        **run_facts(len(guard.attempts)),
    }
    write_result(args.out, result, _plot)
    return 0


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    names = list(runs)
    metrics = {
        "entities strict F1": [runs[n]["entities"]["micro"]["strict"]["f1"] for n in names],
        "PHI strict F1": [runs[n]["phi"]["strict"]["f1"] for n in names],
        "PHI character recall": [runs[n]["phi"]["char_recall"] for n in names],
    }
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.6), sharey=True)
    for ax, (title, values) in zip(axes, metrics.items(), strict=True):
        ax.barh(range(len(names)), values, color=["#4c72b0" if "none" not in n else "#c44e52" for n in names])
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=8)
        ax.set_xlim(min(0.5, min(values) - 0.05), 1.0)
        ax.set_title(title, fontsize=10)
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:.3f}", va="center", fontsize=8)
        ax.invert_yaxis()
    fig.suptitle(f"{result['model']}: notes as written, in lower case and in capitals (dev splits)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

"""Heart-failure risk end to end: the shipped ``alia_hf_risk`` inside whole pipelines, on the HF dev split.

Usage (from the repository root)::

    python benchmarks/hf_risk_pipelines.py --pipelines alia-clin-rules,alia-clin-es-small \
        --out benchmarks/results/hf_risk_pipelines

``hf_risk_benchmark.py`` fits and scores the risk models on features from the rules pipeline.
This script asks what the shipped stage gives when the entities come from another pipeline
(e.g. the encoder's ``alia_ner`` instead of ``alia_terms``): it rebuilds the same dev split
(CardioCCC + DisTEMIST + CodiEsp, 30 % of document groups by hash, labels from
:mod:`alia_clin.hf.labels`), runs each pipeline on the dev notes with its shipped
``alia_hf_risk`` setting (``auto``), reads ``doc.cats["HEART_FAILURE"]`` and reports AUROC,
AUPRC, sensitivity at 90 % specificity, the Brier score and a 5-bin reliability table (mean
predicted vs observed rate), all notes and CardioCCC only, and, for every pipeline after the
first, how many notes' probabilities changed against the first one. Note: the encoder of an encoder
pipeline may have been fine-tuned on some of these notes (its own splits differ), so its
entities can be better here than on unseen text.

Writes ``<out>.json`` (metrics and counts, never text) and ``<out>.png`` (reliability curves).
Network guarded.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import NetworkGuard, default_corpora_dir, machine_info, versions, write_result

BINS = (0.0, 0.1, 0.3, 0.5, 0.7, 1.0)


def reliability(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    """Per probability bin: notes, mean predicted probability, observed positive rate."""
    rows = []
    for lo, hi in itertools.pairwise(BINS):
        sel = (p >= lo) & ((p < hi) if hi < 1.0 else (p <= hi))
        n = int(sel.sum())
        rows.append(
            {
                "bin": [lo, hi],
                "n": n,
                "mean_predicted": round(float(p[sel].mean()), 4) if n else None,
                "observed": round(float(y[sel].mean()), 4) if n else None,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpora", type=Path, default=default_corpora_dir())
    ap.add_argument("--pipelines", default="alia-clin-rules,alia-clin-es-small")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/hf_risk_pipelines"))
    args = ap.parse_args(argv)

    import alia_clin
    from alia_clin.context.lexicon import ContextLexicon, load_lexicon_data
    from alia_clin.hf.dataset import assign_splits, label_documents, read_hf_corpus
    from alia_clin.hf.training import metrics

    guard = NetworkGuard().install()
    docs = read_hf_corpus(args.corpora)
    assign_splits(docs)
    rules = alia_clin.load("alia-clin-rules")
    sections = rules.get_pipe("alia_sections")
    lexicon = ContextLexicon.from_data(load_lexicon_data("es"))
    label_documents(docs, lambda t: sections(rules.make_doc(t)), lexicon)
    dev = [d for d in docs if d.split == "dev"]
    y = np.array([d.label for d in dev], dtype=int)
    cardio = np.array([d.corpus == "cardioccc" for d in dev])
    result: dict[str, Any] = {
        "benchmark": "alia_hf_risk inside shipped pipelines (HF dev split)",
        "dev": {"documents": len(dev), "positives": int(y.sum()), "cardioccc": int(cardio.sum())},
        "pipelines": {},
    }
    first: np.ndarray | None = None
    for name in [n.strip() for n in args.pipelines.split(",") if n.strip()]:
        nlp = alia_clin.load(name)
        t0 = time.perf_counter()
        p = np.array([doc.cats["HEART_FAILURE"] for doc in nlp.pipe(d.text for d in dev)], dtype=float)
        versus = {}
        if first is None:
            first = p
        else:
            diff = np.abs(p - first)
            versus = {
                "notes_changed": int((diff > 1e-6).sum()),
                "max_abs_change": round(float(diff.max()), 4),
                "level_or_side_changes_at_0.5": int(((p >= 0.5) != (first >= 0.5)).sum()),
            }
        result["pipelines"][name] = {
            **({"versus_first_pipeline": versus} if versus else {}),
            "setting": nlp.get_pipe("alia_hf_risk").cfg.get("setting"),  # type: ignore[attr-defined]
            "entity_stages": [n for n in nlp.pipe_names if n in ("alia_ner", "alia_terms")],
            "seconds": round(time.perf_counter() - t0, 1),
            "dev": metrics(y, p, probability=True),
            "dev_cardioccc_only": metrics(y[cardio], p[cardio], probability=True),
            "reliability": reliability(y, p),
        }
    result["network_attempts"] = len(guard.attempts)
    result["machine"] = machine_info()
    result["versions"] = versions(["alia-clin", "spacy", "torch", "scikit-learn"])
    write_result(args.out, result, _plot)
    return 0


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    for name, r in result["pipelines"].items():
        pts = [(b["mean_predicted"], b["observed"]) for b in r["reliability"] if b["n"]]
        ax.plot(
            [a for a, _ in pts],
            [b for _, b in pts],
            "o-",
            label=f"{name} (AUROC {r['dev']['auroc']:.3f}, Brier {r['dev']['brier']:.3f})",
        )
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed HF rate")
    ax.set_title(f"alia_hf_risk reliability, HF dev ({result['dev']['documents']} notes)")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

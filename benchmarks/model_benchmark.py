"""Dev accuracy of an encoder pipeline (``alia_encoder`` + ``alia_deid`` head + ``alia_ner``).

Usage (from the repository root)::

    python benchmarks/model_benchmark.py --model models/alia-clin-es-small \
        --corpora ../shared/corpora --out benchmarks/results/model_es_small

Rebuilds the dev splits the pipeline was trained with, from its ``training_metrics.json``
(``config.tasks``: MEDDOCAN ``dev`` for PHI; for entities the hashed 20 % of CardioCCC train that
``pipelines/clinical*.cfg`` hold out), runs the encoder once per note, and scores:

* PHI (MEDDOCAN dev): the rules alone, the head alone, and the ``alia_deid`` merges ``score``,
  ``rules_first`` and ``rules_extend`` (``model_min_score`` from ``--min-scores``): strict micro
  P/R/F1 (label and exact offsets), merged F1 (offsets only) and character-level PHI recall, per
  label too, and strict F1 / char recall on each half of dev (``half_A``/``half_B``: SHA-256 of
  the document id, even/odd), so a policy chosen on one half can be checked on the other;
* entities (CardioCCC dev): the ``alia_ner`` head alone with no threshold (as the trainer scores
  it), the ``alia_ner`` stage (its ``min_score`` drops entities with a less probable word),
  ``alia_terms`` alone (dictionary), and the stage followed by ``alia_terms`` (dictionary
  entities added where the head found none, the shipped pipeline's order): strict and lenient
  P/R/F1 per label and micro;
* speed of the encoder + both heads on the PHI notes (docs/s, process CPU time), peak RSS.

Test splits are never read. Writes ``<out>.json`` (scores and counts, never text) and
``<out>.png``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import NetworkGuard, default_corpora_dir, dev_half, run_facts, write_result
from terms_benchmark import LABELS
from terms_benchmark import score as score_entities


def _phi_scores(report: Any, halves: dict[str, Any] | None = None) -> dict[str, Any]:
    d = report.to_dict()
    return {
        **({"halves": halves} if halves else {}),
        "strict": {k: d["strict"][k] for k in ("precision", "recall", "f1")},
        "merged_f1": d["merged"]["f1"],
        "char_recall": d["char_recall"],
        "per_label": {
            lab: {k: v[k] for k in ("precision", "recall", "f1", "support")}
            for lab, v in d["per_label"].items()
        },
    }


def dev_splits(model: Path, corpora: Path, limit: int = 0) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """``(training metrics, PHI dev examples, entity dev examples)`` of the pipeline ``model``:
    the dev splits it was trained with, rebuilt from its ``training_metrics.json``, sorted by id
    (the first ``limit`` of each when ``limit`` > 0)."""
    from alia_clin.training.corpora import TaskSources, build_training_data

    metrics = json.loads((model / "training_metrics.json").read_text(encoding="utf-8"))
    sources = {name: TaskSources.from_config(t) for name, t in metrics["config"]["tasks"].items()}
    data = build_training_data(corpora, sources)
    phi_dev = sorted(data.tasks["phi"].dev, key=lambda ex: ex.id)
    ner_dev = sorted(data.tasks["ner"].dev, key=lambda ex: ex.id)
    if limit:
        phi_dev, ner_dev = phi_dev[:limit], ner_dev[:limit]
    return metrics, phi_dev, ner_dev


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--corpora", type=Path, default=default_corpora_dir())
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/model"))
    ap.add_argument(
        "--min-scores", default="0.3,0.5,0.9", help="rules_first / rules_extend model_min_score values"
    )
    ap.add_argument("--limit", type=int, default=0, help="first N notes of each dev split (0 = all)")
    args = ap.parse_args(argv)

    import alia_clin
    from alia_clin.deid.rules import PhiMatch, RuleEngine
    from alia_clin.entities import entity_spans
    from alia_clin.evaluation.deid import evaluate
    from alia_clin.pipeline.deid import MODEL_SOURCE, merge_candidates
    from alia_clin.training.trainer import predict_examples

    metrics, phi_dev, ner_dev = dev_splits(args.model, args.corpora, args.limit)

    guard = NetworkGuard().install()
    nlp = alia_clin.load(args.model)
    enc_pipe = nlp.get_pipe("alia_encoder")
    encoder, settings = enc_pipe.encoder, enc_pipe.settings  # type: ignore[attr-defined]
    deid_pipe, ner_pipe = nlp.get_pipe("alia_deid"), nlp.get_pipe("alia_ner")
    deid_cfg = dict(deid_pipe.cfg)  # type: ignore[attr-defined]

    # --- PHI: one encoder pass, then every merge from the same candidates
    cpu0, wall0 = time.process_time(), time.perf_counter()
    head_preds = predict_examples(encoder, deid_pipe.head, phi_dev, settings)  # type: ignore[attr-defined]
    phi_wall, phi_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    engine = RuleEngine(list(deid_cfg.get("languages", ["es"])), min_score=0.5, labels=None)
    rule_sources = frozenset(engine.sources)
    rule_preds = [engine.analyze(ex.text) for ex in phi_dev]
    gold = {ex.id: ex.spans for ex in phi_dev}

    def merged(policy: str, min_score: float) -> dict[str, list[tuple[int, int, str]]]:
        out = {}
        for ex, rules, head in zip(phi_dev, rule_preds, head_preds, strict=True):
            cands = list(rules) + [PhiMatch(s, e, lab, sc, MODEL_SOURCE) for s, e, lab, sc in head]
            kept = merge_candidates(cands, policy, rule_sources=rule_sources, other_min_score=min_score)
            out[ex.id] = [(m.start, m.end, m.label) for m in kept]
        return out

    def scored(pred: dict[str, list[tuple[int, int, str]]]) -> dict[str, Any]:
        halves = {}
        for half in "AB":
            ids = [i for i in gold if dev_half(i) == half]
            d = evaluate({i: gold[i] for i in ids}, {i: pred[i] for i in ids}).to_dict()
            halves[f"half_{half}"] = {
                "documents": len(ids),
                "strict_f1": d["strict"]["f1"],
                "char_recall": d["char_recall"],
            }
        return _phi_scores(evaluate(gold, pred), halves)

    phi: dict[str, Any] = {
        "rules": scored(
            {ex.id: [(m.start, m.end, m.label) for m in r] for ex, r in zip(phi_dev, rule_preds, strict=True)}
        ),
        "head": scored(
            {ex.id: [(s, e, lab) for s, e, lab, _ in h] for ex, h in zip(phi_dev, head_preds, strict=True)}
        ),
        "score@0.5": scored(merged("score", 0.5)),
    }
    for ms in [float(x) for x in args.min_scores.split(",") if x.strip()]:
        for policy in ("rules_first", "rules_extend"):
            phi[f"{policy}@{ms}"] = scored(merged(policy, ms))

    # --- entities: head alone, terms alone, head then terms
    ner_gold = [[(s[0], s[1], s[2]) for s in ex.spans if s[2] in LABELS] for ex in ner_dev]
    ner_head = predict_examples(encoder, ner_pipe.head, ner_dev, settings)  # type: ignore[attr-defined]
    head_only = [[(s, e, lab) for s, e, lab, _ in p] for p in ner_head]
    rules = alia_clin.build_rules_pipeline()
    with rules.select_pipes(enable=["alia_terms"]):
        terms_only = [
            [(e.start_char, e.end_char, e.label_) for e in entity_spans(d)]
            for d in rules.pipe(ex.text for ex in ner_dev)
        ]

    def pipeline_ents(pipes: list[str]) -> list[list[tuple[int, int, str]]]:
        with nlp.select_pipes(enable=pipes):
            docs = nlp.pipe(ex.text for ex in ner_dev)
            return [[(e.start_char, e.end_char, e.label_) for e in entity_spans(d)] for d in docs]

    min_score = round(float(ner_pipe.cfg["min_score"]), 3)  # type: ignore[attr-defined]
    entities = {
        "head": score_entities(ner_gold, head_only),
        f"alia_ner@{min_score}": score_entities(ner_gold, pipeline_ents(["alia_encoder", "alia_ner"])),
        "terms": score_entities(ner_gold, terms_only),
        f"alia_ner@{min_score}+terms": score_entities(
            ner_gold, pipeline_ents(["alia_encoder", "alia_ner", "alia_terms"])
        ),
    }
    result = {
        "benchmark": "encoder pipeline dev accuracy",
        "model": args.model.name,
        "model_status": metrics.get("status"),
        "encoder_bf16": bool(nlp.get_pipe("alia_encoder").uses_bf16),
        "training": {k: metrics.get(k) for k in ("steps", "epochs_completed", "train_minutes", "base_model")},
        "phi_dev": {"source": "meddocan/dev", "documents": len(phi_dev), "scores": phi},
        "ner_dev": {
            "source": "cardioccc/train holdout (hashed groups)",
            "documents": len(ner_dev),
            "scores": entities,
        },
        "speed_phi_head": {
            "docs": len(phi_dev),
            "chars": sum(len(ex.text) for ex in phi_dev),
            "wall_s": round(phi_wall, 2),
            "cpu_s": round(phi_cpu, 2),
            "docs_per_s": round(len(phi_dev) / phi_wall, 2),
        },
        **run_facts(len(guard.attempts)),
    }
    write_result(args.out, result, _plot)
    return 0


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
    phi = result["phi_dev"]["scores"]
    names = list(phi)
    a1.bar([n for n in names], [phi[n]["strict"]["f1"] for n in names], label="strict F1")
    a1.plot(names, [phi[n]["char_recall"] for n in names], "o-", color="C3", label="char recall")
    a1.axhline(0.96, ls="--", color="grey", lw=0.8)
    a1.axhline(0.99, ls=":", color="C3", lw=0.8)
    a1.set_ylim(0.5, 1.0)
    a1.set_title(f"PHI, MEDDOCAN dev ({result['phi_dev']['documents']} notes)")
    a1.tick_params(axis="x", rotation=30)
    a1.legend(loc="lower right")
    ents = result["ner_dev"]["scores"]
    width = 0.8 / len(ents)
    for i, system in enumerate(ents):
        xs = [j + i * width for j in range(len(LABELS) + 1)]
        ys = [ents[system]["labels"][lab]["strict"]["f1"] for lab in LABELS] + [
            ents[system]["micro"]["strict"]["f1"]
        ]
        a2.bar(xs, ys, width=width, label=system)
    a2.set_xticks([j + 0.4 - width / 2 for j in range(len(LABELS) + 1)], [*LABELS, "micro"], rotation=30)
    a2.set_ylim(0, 1)
    a2.set_title(f"Entities strict F1, CardioCCC dev ({result['ner_dev']['documents']} notes)")
    a2.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())

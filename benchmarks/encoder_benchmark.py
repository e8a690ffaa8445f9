"""Encoder speed benchmark: one shared pass vs separate models, fp32 vs bf16 vs int8.

Usage (from the repository root)::

    python benchmarks/encoder_benchmark.py --model /tmp/alia_models/alia-clin-es-small \\
        --corpora ../shared/corpora --out benchmarks/results/encoder            # both phases
    python benchmarks/encoder_benchmark.py --phase speed ...                    # speed only
    python benchmarks/encoder_benchmark.py --phase accuracy ...                 # accuracy only

``--model`` is a trained alia_clin pipeline directory with ``alia_encoder``, ``alia_deid``
(with a PHI head) and ``alia_ner``. It defaults to ``/tmp/alia_models/alia-clin-es-small``
when that exists. That pipeline is not shipped (69 MB, weak); rebuild it with::

    alia-clin models build-base            # → ~/.cache/alia_clin/base/e5-small-pruned
    alia-clin train --config pipelines/clinical.cfg --corpora ../shared/corpora \\
        --base-model ~/.cache/alia_clin/base/e5-small-pruned --out /tmp/alia_models/alia-clin-es-small

**Speed phase.** The first ``--speed-docs`` MEDDOCAN ``dev`` notes (sorted by name) are run
through each configuration, each in its own fresh Python process (so peak RSS is that
configuration's own), with ``--threads`` torch threads (the encoder's ``num_threads``):

* ``shared-<precision>``: one pipeline, encoder + deid head + ner head: one encoder pass per note;
* ``separate-<precision>``: two pipelines loaded side by side (encoder + deid, encoder + ner),
  run one after the other on the same notes: two encoder passes per note;

for precisions ``fp32``, ``bf16`` (autocast) and ``int8``/``int8-qkv`` (dynamic quantization,
:mod:`alia_clin.encoder.quantize`). The machine is shared, so configurations run interleaved in
``--rounds`` rounds (one warm-up note, then one timed pass per round) and the best round is kept;
``os.getloadavg()`` is recorded around every run.

**Accuracy phase.** For each precision, strict micro F1 of the model layer alone (the heads'
predictions, no rules), as the trainer scores dev: PHI on MEDDOCAN ``dev`` (with character-level
PHI recall, and the rules + model merge of ``alia_deid`` for reference), NER on the CardioCCC dev
split that ``pipelines/clinical.cfg`` holds out of CardioCCC train (rebuilt with
:func:`alia_clin.training.corpora.build_training_data`). ``--phi-docs``/``--ner-docs`` limit
both to their first N documents by id (0 = all). The F1 change of each precision relative to
fp32 is reported in points; the issue allows int8 only within 0.5 points.

Writes ``<out>.json`` (a phase run updates its own section and keeps the other's) and
``<out>.png``. No note text is written anywhere; workers run under a socket guard.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import (
    REPO_ROOT,
    NetworkGuard,
    current_rss_mb,
    default_corpora_dir,
    machine_info,
    peak_rss_mb,
    run_worker,
    time_best_of,
    versions,
    write_json,
)

DEFAULT_MODEL = Path("/tmp/alia_models/alia-clin-es-small")
#: alia_encoder settings of each precision.
PRECISIONS: dict[str, dict[str, Any]] = {
    "fp32": {"bf16": False, "quantize": "none"},
    "bf16": {"bf16": True, "quantize": "none"},
    "int8": {"bf16": False, "quantize": "int8"},
    "int8-qkv": {"bf16": False, "quantize": "int8-qkv"},
}
#: Every timeable configuration: ``<layout>-<precision>``.
ALL_CONFIGS = tuple(f"{layout}-{p}" for p in PRECISIONS for layout in ("shared", "separate"))
#: Configurations timed by default.
SPEED_CONFIGS = (
    "shared-fp32", "separate-fp32", "shared-bf16", "separate-bf16", "shared-int8", "shared-int8-qkv",
)
#: Pipes excluded to build each separate pipeline.
SEPARATE = {"deid": ["alia_ner"], "ner": ["alia_deid"]}
INT8_TOLERANCE_POINTS = 0.5


# ----------------------------------------------------------------------------------------- shared


def read_notes(docs_dir: Path, limit: int) -> tuple[list[str], list[str]]:
    """Ids and texts of the first ``limit`` ``.txt`` notes of ``docs_dir`` by name (0 = all)."""
    from alia_clin.io.brat import read_text

    paths = sorted(docs_dir.glob("*.txt"))[: limit or None]
    return [p.stem for p in paths], [read_text(p) for p in paths]


def load_pipeline(model: Path, precision: str, threads: int, exclude: Sequence[str] = ()) -> Any:
    """``spacy.load`` the pipeline with the encoder settings of ``precision``."""
    import spacy

    import alia_clin.pipeline  # noqa: F401  (factories)

    enc = {**PRECISIONS[precision], "num_threads": threads}
    return spacy.load(model, config={"components": {"alia_encoder": enc}}, exclude=list(exclude))


def count_pieces(nlp: Any, texts: Sequence[str]) -> int:
    """Sentence pieces of the notes (no special tokens, window overlap not counted)."""
    tok = nlp.get_pipe("alia_encoder").encoder.tokenizer
    return sum(len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)


# ----------------------------------------------------------------------------------- speed worker


def speed_worker(config: str, model: Path, docs_dir: Path, limit: int, threads: int, batch: int) -> None:
    """Time one configuration in this fresh process; print one JSON line."""
    import torch

    guard = NetworkGuard().install()
    torch.set_num_threads(threads)
    _, texts = read_notes(docs_dir, limit)
    baseline = current_rss_mb()
    layout, precision = config.split("-", 1)
    load0 = os.getloadavg()
    start = time.perf_counter()
    if layout == "shared":
        pipelines = [load_pipeline(model, precision, threads)]
    else:
        pipelines = [load_pipeline(model, precision, threads, exclude) for exclude in SEPARATE.values()]
    build_s = time.perf_counter() - start
    pieces = count_pieces(pipelines[0], texts)

    cpu_s: list[float] = []

    def run(batch_texts: Sequence[str]) -> list[int]:
        counts = [0, 0]  # PHI spans, entities
        cpu0 = time.process_time()
        for nlp in pipelines:
            for doc in nlp.pipe(batch_texts, batch_size=batch):
                counts[0] += len(doc.spans.get("phi", [])) if "alia_deid" in nlp.pipe_names else 0
                counts[1] += len(doc.ents) if "alia_ner" in nlp.pipe_names else 0
        cpu_s.append(time.process_time() - cpu0)
        return counts

    timing, counts = time_best_of(run, texts, repeats=1, warmup=1)
    result = {
        "config": config,
        "layout": layout,
        "precision": precision,
        "encoder_passes_per_note": len(pipelines),
        "pipe_names": [list(nlp.pipe_names) for nlp in pipelines],
        "build_s": build_s,
        "wall_s": timing.best_s,
        "cpu_s": cpu_s[-1],
        "n_docs": timing.n_docs,
        "n_chars": timing.n_chars,
        "n_pieces": pieces,
        "phi_spans": counts[0],
        "entities": counts[1],
        "torch_threads": torch.get_num_threads(),
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak_rss_mb(),
        "loadavg_before": load0,
        "loadavg_after": os.getloadavg(),
        "network_attempts": len(guard.attempts),
    }
    sys.stdout.write(json.dumps(result) + "\n")


def run_speed(args: argparse.Namespace, docs_dir: Path) -> dict[str, Any]:
    """Interleaved rounds of every configuration; keep each configuration's best round."""
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in args.configs}
    worker_args = ["--model", str(args.model), "--docs-dir", str(docs_dir), "--speed-docs",
                   str(args.speed_docs), "--threads", str(args.threads), "--batch-size", str(args.batch_size)]
    for r in range(args.rounds):
        for config in args.configs:
            print(f"round {r + 1}/{args.rounds}: {config} …", flush=True)
            out = run_worker(Path(__file__), ["--worker", config, *worker_args], timeout_s=1800)
            runs[config].append(out)
            print(f"  {out['n_docs'] / out['wall_s']:.2f} docs/s, CPU {out['cpu_s']:.0f} s, "
                  f"peak RSS {out['peak_rss_mb']:.0f} MB, load {out['loadavg_before'][0]:.1f}", flush=True)
    configs: dict[str, Any] = {}
    for config, outs in runs.items():
        best = min(outs, key=lambda o: o["wall_s"])
        configs[config] = {
            **{k: best[k] for k in ("layout", "precision", "encoder_passes_per_note", "pipe_names",
                                    "n_docs", "n_chars", "n_pieces", "phi_spans", "entities",
                                    "torch_threads")},
            "best_wall_s": best["wall_s"],
            "best_cpu_s": min(o["cpu_s"] for o in outs),
            "cpu_s_per_doc": min(o["cpu_s"] for o in outs) / best["n_docs"],
            "docs_per_s": best["n_docs"] / best["wall_s"],
            "pieces_per_s": best["n_pieces"] / best["wall_s"],
            "chars_per_s": best["n_chars"] / best["wall_s"],
            "peak_rss_mb": max(o["peak_rss_mb"] for o in outs),
            "baseline_rss_mb": best["baseline_rss_mb"],
            "build_s": min(o["build_s"] for o in outs),
            "runs_wall_s": [o["wall_s"] for o in outs],
            "runs_cpu_s": [o["cpu_s"] for o in outs],
            "runs_loadavg_1m": [[o["loadavg_before"][0], o["loadavg_after"][0]] for o in outs],
            "network_attempts": sum(o["network_attempts"] for o in outs),
        }
    ratios, cpu_ratios = {}, {}
    for precision in PRECISIONS:
        shared, separate = configs.get(f"shared-{precision}"), configs.get(f"separate-{precision}")
        if shared and separate:
            ratios[precision] = shared["docs_per_s"] / separate["docs_per_s"]
            cpu_ratios[precision] = separate["best_cpu_s"] / shared["best_cpu_s"]
    fp32 = configs.get("shared-fp32")
    speedup = {
        c["precision"]: {
            "wall": c["docs_per_s"] / fp32["docs_per_s"], "cpu": fp32["best_cpu_s"] / c["best_cpu_s"]
        }
        for c in configs.values() if fp32 and c["layout"] == "shared"
    }
    return {
        "notes_dir": f"meddocan/{docs_dir.name}",
        "n_docs": args.speed_docs,
        "rounds": args.rounds,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "configs": configs,
        "shared_over_separate_docs_per_s": ratios,
        "shared_over_separate_cpu_time": cpu_ratios,
        "target_shared_over_separate": 1.7,
        "shared_speedup_over_fp32": speedup,
    }


# --------------------------------------------------------------------------------------- accuracy


def _encode_and_predict(nlp: Any, texts: list[str], batch: int) -> tuple[list[Any], list[Any], list[Any]]:
    """Model-alone PHI and NER predictions plus the full ``alia_deid`` output (rules + model)."""
    from alia_clin.pipeline.encoder import get_encoded

    deid, ner = nlp.get_pipe("alia_deid"), nlp.get_pipe("alia_ner")
    phi_preds: list[Any] = []
    ner_preds: list[Any] = []
    merged: list[Any] = []
    for b in range(0, len(texts), batch):
        chunk = texts[b : b + batch]
        with nlp.select_pipes(enable=["alia_encoder"]):
            docs = list(nlp.pipe(chunk, batch_size=batch))
        encoded = [get_encoded(d) for d in docs]
        phi_preds.extend(deid.head.predict_many(encoded, chunk))
        ner_preds.extend(ner.head.predict_many(encoded, chunk))
        merged.extend([(s.start_char, s.end_char, s.label_) for s in d.spans.get("phi", [])]
                      for d in deid.pipe(docs))
    return phi_preds, ner_preds, merged


def _score(examples: Sequence[Any], preds: Sequence[Any]) -> dict[str, Any]:
    from alia_clin.evaluation.deid import evaluate

    gold = {ex.id: ex.spans for ex in examples}
    pred = {
        ex.id: [(int(p[0]), int(p[1]), str(p[2])) for p in ps] for ex, ps in zip(examples, preds, strict=True)
    }
    d = evaluate(gold, pred).to_dict()
    return {
        "strict": {k: d["strict"][k] for k in ("precision", "recall", "f1", "support")},  # type: ignore[index]
        "char_recall": d["char_recall"],
        "per_label_f1": {lab: v["f1"] for lab, v in d["per_label"].items()},  # type: ignore[union-attr]
    }


def run_accuracy(args: argparse.Namespace) -> dict[str, Any]:
    """Dev F1 of both heads for every precision (one process; precisions one after the other)."""
    import torch

    from alia_clin.training.config import load_train_config
    from alia_clin.training.corpora import build_training_data

    guard = NetworkGuard().install()
    torch.set_num_threads(args.threads)
    cfg = load_train_config(REPO_ROOT / "pipelines" / "clinical.cfg")
    data = build_training_data(args.corpora, {t.name: t.sources for t in cfg.tasks})
    phi = sorted(data.tasks["phi"].dev, key=lambda ex: ex.id)[: args.phi_docs or None]
    ner = sorted(data.tasks["ner"].dev, key=lambda ex: ex.id)[: args.ner_docs or None]
    results: dict[str, Any] = {}
    for precision in args.precisions:
        print(f"accuracy: {precision} …", flush=True)
        nlp = load_pipeline(args.model, precision, args.threads)
        start = time.perf_counter()
        phi_model, _, phi_merged = _encode_and_predict(nlp, [ex.text for ex in phi], args.batch_size)
        _, ner_model, _ = _encode_and_predict(nlp, [ex.text for ex in ner], args.batch_size)
        results[precision] = {
            "phi_model": _score(phi, phi_model),
            "phi_rules_and_model": _score(phi, phi_merged),
            "ner_model": _score(ner, ner_model),
            "wall_s": time.perf_counter() - start,
            "loadavg_after": os.getloadavg(),
        }
        print(f"  PHI F1 {results[precision]['phi_model']['strict']['f1']:.4f}  "
              f"NER F1 {results[precision]['ner_model']['strict']['f1']:.4f}", flush=True)
        del nlp
    deltas: dict[str, Any] = {}
    if "fp32" in results:
        base = results["fp32"]
        for precision, res in results.items():
            d_phi = 100 * (res["phi_model"]["strict"]["f1"] - base["phi_model"]["strict"]["f1"])
            d_ner = 100 * (res["ner_model"]["strict"]["f1"] - base["ner_model"]["strict"]["f1"])
            deltas[precision] = {
                "phi_f1_points": d_phi,
                "ner_f1_points": d_ner,
                "within_tolerance": d_phi >= -INT8_TOLERANCE_POINTS and d_ner >= -INT8_TOLERANCE_POINTS,
            }
    return {
        "phi": {"split": "meddocan/dev", "n_docs": len(phi), "gold_spans": sum(len(ex.spans) for ex in phi),
                "selection": "first N by document id" if args.phi_docs else "all"},
        "ner": {"split": "20 % of cardioccc/train held out by pipelines/clinical.cfg (hashed group id)",
                "n_docs": len(ner), "gold_spans": sum(len(ex.spans) for ex in ner),
                "dev_docs_total": len(data.tasks["ner"].dev),
                "selection": "first N by document id" if args.ner_docs else "all"},
        "scoring": "strict micro F1 of the head alone (alia_clin.evaluation.deid.evaluate), as the trainer "
                   "scores dev; phi_rules_and_model is alia_deid's full output for reference",
        "tolerance_points": INT8_TOLERANCE_POINTS,
        "precisions": results,
        "f1_change_vs_fp32": deltas,
        "network_attempts": len(guard.attempts),
    }


# ------------------------------------------------------------------------------------------- plot


def plot(path: Path, record: dict[str, Any]) -> None:
    """Throughput and peak RSS per configuration; F1 change vs fp32 per precision."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    speed = record.get("speed") or {}
    acc = record.get("accuracy") or {}
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.8))
    configs = speed.get("configs", {})
    names = list(configs)
    colors = ["C0" if configs[n]["layout"] == "shared" else "C1" for n in names]
    if names:
        bars = axes[0].bar(names, [configs[n]["docs_per_s"] for n in names], color=colors)
        axes[0].bar_label(bars, fmt="%.2f", fontsize=8)
        bars = axes[1].bar(names, [configs[n]["cpu_s_per_doc"] for n in names], color=colors)
        axes[1].bar_label(bars, fmt="%.2f", fontsize=8)
        bars = axes[2].bar(names, [configs[n]["peak_rss_mb"] for n in names], color=colors)
        axes[2].bar_label(bars, fmt="%.0f", fontsize=8)
    axes[0].set_title(f"MEDDOCAN dev, first {speed.get('n_docs', '?')} notes: docs/s (best of rounds)\n"
                      "blue = one shared pass, orange = two separate models", fontsize=9)
    axes[0].set_ylabel("documents / second")
    axes[1].set_title("process CPU seconds per note (best round)", fontsize=9)
    axes[1].set_ylabel("CPU s / note")
    axes[2].set_title("peak RSS per configuration (own process)", fontsize=9)
    axes[2].set_ylabel("MiB")
    for ax in axes[:3]:
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    deltas = acc.get("f1_change_vs_fp32", {})
    precs = [p for p in deltas if p != "fp32"]
    if precs:
        xs = range(len(precs))
        axes[3].bar([x - 0.2 for x in xs], [deltas[p]["phi_f1_points"] for p in precs], 0.4, label="PHI head")
        axes[3].bar([x + 0.2 for x in xs], [deltas[p]["ner_f1_points"] for p in precs], 0.4, label="NER head")
        axes[3].set_xticks(list(xs))
        axes[3].set_xticklabels(precs)
        axes[3].axhline(-INT8_TOLERANCE_POINTS, color="red", linestyle="--", linewidth=1, label="-0.5 points")
        axes[3].axhline(0, color="black", linewidth=0.8)
        axes[3].legend(fontsize=8)
    axes[3].set_title("dev strict F1 change vs fp32 (points, model layer alone)", fontsize=9)
    axes[3].grid(axis="y", alpha=0.3)
    fig.suptitle(f"alia_encoder speed and precision ({record.get('model', {}).get('name', '')}); "
                 "shared 2-core machine, absolute numbers are indicative", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)


# ------------------------------------------------------------------------------------------- main


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _model_info(model: Path) -> dict[str, Any]:
    meta = json.loads((model / "meta.json").read_text(encoding="utf-8"))
    enc = json.loads((model / "alia_encoder" / "encoder.json").read_text(encoding="utf-8"))
    return {
        "name": meta.get("name"),
        "version": meta.get("version"),
        "pipeline": meta.get("pipeline"),
        "encoder_weights_sha256": enc.get("weights_sha256"),
        "encoder_model_type": enc.get("model_type"),
        "encoder_hidden_size": enc.get("hidden_size"),
        "encoder_saved_dtype": enc.get("cfg", {}).get("save_dtype"),
        "window": {k: enc.get("cfg", {}).get(k) for k in ("max_length", "stride", "window_batch_size")},
        "shipped": False,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments; run the phases or, with ``--worker``, one speed configuration."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL if DEFAULT_MODEL.is_dir() else None,
                        help=f"trained pipeline directory (default {DEFAULT_MODEL} if it exists)")
    parser.add_argument("--corpora", type=Path, default=default_corpora_dir())
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/encoder"))
    parser.add_argument("--phase", choices=["all", "speed", "accuracy", "plot"], default="all",
                        help="plot: redraw the PNG from the existing JSON only")
    parser.add_argument("--speed-docs", type=int, default=20, help="first N MEDDOCAN dev notes timed")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; best kept")
    parser.add_argument("--configs", nargs="+", choices=ALL_CONFIGS, default=list(SPEED_CONFIGS))
    parser.add_argument("--precisions", nargs="+", choices=list(PRECISIONS), default=list(PRECISIONS))
    parser.add_argument("--phi-docs", type=int, default=0, help="first N MEDDOCAN dev notes scored (0 = all)")
    parser.add_argument("--ner-docs", type=int, default=0, help="first N CardioCCC dev notes (0 = all)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (alia_encoder num_threads)")
    parser.add_argument("--batch-size", type=int, default=8, help="docs per nlp.pipe batch")
    parser.add_argument("--worker", choices=ALL_CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--docs-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase != "plot":
        if args.model is None or not (args.model / "alia_encoder").is_dir():
            parser.error("--model must be a trained pipeline directory (see the module docstring)")
        args.model = args.model.resolve()

    if args.worker:
        speed_worker(args.worker, args.model, args.docs_dir, args.speed_docs, args.threads, args.batch_size)
        return 0

    from alia_clin import __version__

    out_json = args.out.with_suffix(".json")
    record: dict[str, Any] = json.loads(out_json.read_text(encoding="utf-8")) if out_json.exists() else {}
    if args.phase == "plot":
        plot(args.out.with_suffix(".png"), record)
        return 0
    record.update({
        "benchmark": "encoder",
        "model": _model_info(args.model),
        "versions": {"alia_clin": __version__, **versions(["torch", "transformers", "spacy", "numpy"])},
        "machine": {**machine_info(), "loadavg_at_start": os.getloadavg(),
                    "shared": "2 cores shared with other engineers' jobs: absolute numbers are indicative"},
    })
    commands = record.setdefault("commands", {})
    command = "python benchmarks/encoder_benchmark.py " + " ".join(sys.argv[1:])
    if args.phase in ("all", "speed"):
        docs_dir = (args.corpora / "meddocan" / "dev").resolve()
        record["speed"] = {**run_speed(args, docs_dir), "created_utc": _now()}
        commands["speed"] = command
    if args.phase in ("all", "accuracy"):
        record["accuracy"] = {**run_accuracy(args), "created_utc": _now()}
        commands["accuracy"] = command
    record["machine"]["loadavg_at_end"] = os.getloadavg()
    write_json(out_json, record)
    plot(args.out.with_suffix(".png"), record)
    print(json.dumps({"speed_ratios": record.get("speed", {}).get("shared_over_separate_docs_per_s"),
                      "cpu_ratios": record.get("speed", {}).get("shared_over_separate_cpu_time"),
                      "f1_change": record.get("accuracy", {}).get("f1_change_vs_fp32")}, indent=1))
    print(f"wrote {out_json} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

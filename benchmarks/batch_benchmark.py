"""Batch processing benchmark: docs/s versus workers, and peak RSS versus input size.

Runs the real ``alia-clin process`` command as a subprocess on synthetic JSONL exports
(``alia_clin.batch.synthetic``, seeded, no corpus text) with ``--tasks deid`` (the rules
de-identification stage only: the cheapest realistic configuration) and ``--output-format
jsonl``; polls the process tree's resident memory every 50 ms with psutil. Reports wall time,
the command's docs/s overall and after its first chunk (steady state, without pipeline and
worker start-up), peak RSS of the main process and of the
whole tree (main + workers).

    python benchmarks/batch_benchmark.py --out benchmarks/results/batch
    # smaller: --sizes 2000 20000 --workers-notes 2000
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from _common import machine_info, versions, write_json

from alia_clin.batch.synthetic import write_jsonl

CLI = Path(sys.executable).parent / "alia-clin"


def run_process(
    notes: Path, out: Path, *, workers: int, chunk_size: int, extra: list[str] | None = None
) -> dict[str, Any]:
    """Run ``alia-clin process`` once; return timing and memory."""
    cmd = [
        str(CLI),
        "process",
        str(notes),
        "--out",
        str(out),
        "--model",
        "alia-clin-rules",
        "--tasks",
        "deid",
        "--output-format",
        "jsonl",
        "--log-json",
        "--force",
        "--workers",
        str(workers),
        "--chunk-size",
        str(chunk_size),
        *(extra or []),
    ]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak_main = peak_tree = 0
    while proc.poll() is None:
        try:
            main = ps.memory_info().rss
            tree = main + sum(c.memory_info().rss for c in ps.children(recursive=True))
        except psutil.Error:
            continue
        peak_main, peak_tree = max(peak_main, main), max(peak_tree, tree)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    stderr = proc.stderr.read() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"alia-clin process exited {proc.returncode}")
    finished: dict[str, Any] = {}
    for line in stderr.splitlines():
        if line.startswith("{") and '"run finished"' in line:
            finished = json.loads(line)
    lines = sum(1 for _ in (out / "documents.jsonl").open(encoding="utf-8"))
    return {
        "workers": workers,
        "notes": lines,
        "wall_s": round(wall, 2),
        "wall_docs_per_s": round(lines / wall, 1),
        "docs_per_s": finished.get("docs_per_s"),
        "first_chunk_s": finished.get("first_chunk_s"),
        "steady_docs_per_s": finished.get("steady_docs_per_s"),
        "peak_rss_main_mb": round(peak_main / 2**20, 1),
        "peak_rss_tree_mb": round(peak_tree / 2**20, 1),
        "load_avg_1min_before_after": [round(load_before, 2), round(load_after, 2)],
    }


def plot(results: dict[str, Any], path: Path) -> None:
    """Two panels: docs/s per worker count; peak RSS per input size."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    w = results["workers"]
    a.bar([str(r["workers"]) for r in w], [r["steady_docs_per_s"] or 0 for r in w], color="#3b7dd8")
    a.set_xlabel("--workers")
    a.set_ylabel("docs/s after the first chunk")
    a.set_title(f"{w[0]['notes']} notes, deid, {results['machine'].get('cpu_count')} CPU cores")
    s = results["sizes"]
    a2 = [str(r["notes"]) for r in s]
    b.bar(a2, [r["peak_rss_main_mb"] for r in s], color="#d8803b")
    b.set_xlabel("notes in the input")
    b.set_ylabel("peak RSS, MiB")
    b.set_title("memory is flat across input sizes")
    for i, r in enumerate(s):
        b.text(i, r["peak_rss_main_mb"], f"{r['peak_rss_main_mb']:.0f}", ha="center", va="bottom")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/batch"))
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--merge", action="store_true", help="keep the parts of an existing <out>.json not rerun")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--workers-notes", type=int, default=10_000)
    ap.add_argument("--chunk-size", type=int, default=1000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="alia-batch-bench-"))
    try:
        results: dict[str, Any] = {
            "config": {
                "tasks": "deid",
                "output_format": "jsonl",
                "chunk_size": args.chunk_size,
                "input": "synthetic JSONL (alia_clin.batch.synthetic, seed 0)",
            },
            "machine": machine_info(),
            "versions": versions(["alia-clin", "spacy", "torch", "presidio-analyzer"]),
            "workers": [],
            "sizes": [],
        }
        notes = write_jsonl(tmp / f"notes_{args.workers_notes}.jsonl", max(1, args.workers_notes))
        for w in args.workers if args.workers_notes > 0 else []:
            r = run_process(notes, tmp / f"out_w{w}", workers=w, chunk_size=args.chunk_size)
            print(json.dumps(r), file=sys.stderr)
            results["workers"].append(r)
        for n in args.sizes:
            path = tmp / f"notes_{n}.jsonl"
            if not path.exists():
                write_jsonl(path, n)
            r = run_process(path, tmp / f"out_n{n}", workers=1, chunk_size=args.chunk_size)
            print(json.dumps(r), file=sys.stderr)
            results["sizes"].append(r)
            shutil.rmtree(tmp / f"out_n{n}", ignore_errors=True)
        old = args.out.with_suffix(".json")
        if args.merge and old.exists():
            previous = json.loads(old.read_text(encoding="utf-8"))
            for key in ("workers", "sizes"):
                if not results[key]:
                    results[key] = previous.get(key, [])
        rss = [r["peak_rss_main_mb"] for r in results["sizes"]]
        results["rss_ratio_largest_vs_smallest"] = round(max(rss) / min(rss), 3) if rss else None
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.out.with_suffix(".json"), results)
        plot(results, args.out.with_suffix(".png"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

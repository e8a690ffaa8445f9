"""FHIR output benchmark: cost of ``alia_clin.fhir.doc_to_bundle`` on MEDDOCAN dev, and PHI check.

Usage (from the repository root)::

    python benchmarks/fhir_benchmark.py --corpora ../shared/corpora --out benchmarks/results/fhir

Runs the rules pipeline (``alia_clin.load("alia-clin-rules")``) once over MEDDOCAN ``dev`` (250 synthetic
clinical cases, CC BY 4.0; MEDDOCAN's own dev split), then times building the bundles of all
notes from the processed Docs in several variants (best of ``--repeats`` passes): R4 and R5
collection bundles with model validation, R4 without validation (the cost of validation), an R4
transaction bundle, and the ``fhir-ndjson`` writer (bundle + files). It also counts, under the
default policy, PHI strings (≥ 3 characters) found by the pipeline that occur as a whole word
anywhere in an emitted bundle (expected: 0), and the entries per bundle.

The default rules pipeline has no entity stage yet, so bundles hold DocumentReference,
measurement Observations, Patient, Device and Provenance; entity resources add to the cost
once an entity stage ships. Writes ``<out>.json`` (numbers only, never text) and ``<out>.png``.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import regex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import default_corpora_dir, machine_info, peak_rss_mb, versions, write_json


def _strings(node: Any) -> list[str]:
    out: list[str] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            out.extend(str(k) for k in cur)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
        elif isinstance(cur, str):
            out.append(cur)
    return out


def _phi_leaks(docs: list[Any], bundles: list[dict[str, Any]]) -> tuple[int, int]:
    checked = leaks = 0
    for doc, bundle in zip(docs, bundles, strict=True):
        docref = next(
            e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"
        )
        att = docref["content"][0]["attachment"]
        encoded = {att["data"], att["hash"]}
        blob = "\n".join(
            [s for s in _strings(bundle) if s not in encoded]
            + [base64.b64decode(att["data"]).decode("utf-8")]
        )
        for span in doc.spans["phi"]:
            value = span.text.strip()
            if len(value) < 3:
                continue
            checked += 1
            if regex.search(r"(?<!\w)" + regex.escape(value) + r"(?!\w)", blob, regex.IGNORECASE):
                leaks += 1
    return checked, leaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpora", type=Path, default=default_corpora_dir())
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/fhir"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()

    import alia_clin
    from alia_clin.fhir import FhirNdjsonWriter, FhirPolicy, device_info, doc_to_bundle
    from alia_clin.training.corpora import read_source

    examples = read_source(args.corpora, "meddocan/dev")
    if args.limit:
        examples = examples[: args.limit]
    nlp = alia_clin.load(alia_clin.RULES_MODEL)
    start = time.perf_counter()
    docs = list(nlp.pipe(ex.text for ex in examples))
    pipeline_s = time.perf_counter() - start
    for ex, doc in zip(examples, docs, strict=True):
        doc._.note_id = ex.id
    device = device_info(nlp)
    policy = FhirPolicy(secret="benchmark-secret")
    unvalidated = FhirPolicy(secret="benchmark-secret", validate=False)

    def bundles(version: str, bundle_type: str, pol: FhirPolicy) -> list[dict[str, Any]]:
        return [
            doc_to_bundle(
                d,
                version=version,
                bundle_type=bundle_type,
                policy=pol,  # type: ignore[arg-type]
                device=device,
            )
            for d in docs
        ]

    def ndjson() -> list[dict[str, Any]]:
        with tempfile.TemporaryDirectory() as tmp, FhirNdjsonWriter(tmp, policy=policy, device=device) as w:
            for d in docs:
                w.write(d)
            return w.manifest()

    variants = {
        "R4 collection": lambda: bundles("R4", "collection", policy),
        "R4 collection, no validation": lambda: bundles("R4", "collection", unvalidated),
        "R4 transaction": lambda: bundles("R4", "transaction", policy),
        "R5 collection": lambda: bundles("R5", "collection", policy),
        "fhir-ndjson writer (R4)": ndjson,
    }
    results: dict[str, Any] = {}
    for name, run in variants.items():
        run()  # warm-up (model classes, caches)
        runs = []
        for _ in range(max(1, args.repeats)):
            t = time.perf_counter()
            run()
            runs.append(time.perf_counter() - t)
        best = min(runs)
        results[name] = {
            "runs_s": runs,
            "best_s": best,
            "docs_per_s": len(docs) / best,
            "ms_per_doc": 1000 * best / len(docs),
        }
    r4 = bundles("R4", "collection", policy)
    checked, leaks = _phi_leaks(docs, r4)
    entry_counts = Counter(e["resource"]["resourceType"] for b in r4 for e in b["entry"])
    report = {
        "corpus": "meddocan/dev",
        "n_docs": len(docs),
        "n_chars": sum(len(ex.text) for ex in examples),
        "pipeline": {
            "name": device.name,
            "version": device.version,
            "wall_s": pipeline_s,
            "docs_per_s": len(docs) / pipeline_s,
        },
        "bundling": results,
        "phi_check": {"phi_strings_checked": checked, "phi_strings_found_in_bundles": leaks, "min_chars": 3},
        "resources_per_type_r4": dict(sorted(entry_counts.items())),
        "peak_rss_mb": peak_rss_mb(),
        "machine": machine_info(),
        "versions": versions(["alia-clin", "fhir.resources", "spacy", "pydantic"]),
    }
    out: Path = args.out
    write_json(out.with_suffix(".json"), report)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["pipeline (alia_clin.load)", *results]
    speeds = [report["pipeline"]["docs_per_s"]] + [results[n]["docs_per_s"] for n in results]
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.barh(names, speeds, color=["#888"] + ["#3b7dd8"] * len(results))
    ax.invert_yaxis()
    ax.set_xlabel("documents / second (best pass, MEDDOCAN dev)")
    ax.set_title(f"FHIR bundling cost, {len(docs)} notes; PHI strings in bundles: {leaks}/{checked}")
    for i, v in enumerate(speeds):
        ax.text(v, i, f" {v:.0f}", va="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=120)
    print(out.with_suffix(".json"))


if __name__ == "__main__":
    main()

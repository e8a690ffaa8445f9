"""De-identification benchmark: alia_clin's rules layer vs. Presidio's Spanish setup on MEDDOCAN.

Usage (from the repository root)::

    python benchmarks/deid_benchmark.py --corpora ../shared/corpora --out benchmarks/results/deid_rules

Both systems run on the same notes (``meddocan/<split>``, 250 notes in ``dev``), each in its own
fresh Python process so that peak-RSS figures do not contaminate each other; that process also
does the timing (one warm-up note untimed, then best of ``--repeats`` full passes). Predicted spans
go back to this process as offsets and labels only and are scored with
``alia_clin.evaluation.deid`` (strict, merged, per label, character-level PHI recall).

Writes ``<out>.json`` (metrics, speed, memory, versions, machine) and ``<out>.png`` (per-label
strict F1 and documents/second). Note text is never written anywhere. Nothing is downloaded:
every worker runs under a socket guard that refuses and counts network attempts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from _common import (
    NetworkGuard,
    current_rss_mb,
    default_corpora_dir,
    machine_info,
    peak_rss_mb,
    plot_labels_and_speed,
    run_worker,
    time_best_of,
    versions,
    write_json,
)

Spans = list[tuple[int, int, str]]
Runner = Callable[[Sequence[str]], list[Spans]]

SYSTEMS = ("alia_clin_rules", "presidio_es")

#: Presidio entity type -> MEDDOCAN label. MEDDOCAN files a patient's DNI/NIF/NIE/passport under
#: ID_SUJETO_ASISTENCIA; a clinician's licence number under ID_TITULACION_PERSONAL_SANITARIO;
#: bank, card and other numbers under OTRO_NUMERO_IDENTIF. The NER types cannot
#: tell patients from clinicians or hospitals from other institutions: the most frequent
#: MEDDOCAN label is used. Types not listed are kept as ``PRESIDIO_<TYPE>`` (wrong label in
#: strict scoring, still counted by merged and character-level scoring).
PRESIDIO_TO_MEDDOCAN = {
    "PERSON": "NOMBRE_SUJETO_ASISTENCIA",
    "LOCATION": "TERRITORIO",
    "ORGANIZATION": "INSTITUCION",
    "DATE_TIME": "FECHAS",
    "EMAIL_ADDRESS": "CORREO_ELECTRONICO",
    "PHONE_NUMBER": "NUMERO_TELEFONO",
    "URL": "URL_WEB",
    "IP_ADDRESS": "DIREC_PROT_INTERNET",
    "ES_NIF": "ID_SUJETO_ASISTENCIA",
    "ES_NIE": "ID_SUJETO_ASISTENCIA",
    "ES_PASSPORT": "ID_SUJETO_ASISTENCIA",
    "ID": "ID_SUJETO_ASISTENCIA",
    "AGE": "EDAD_SUJETO_ASISTENCIA",
    "MEDICAL_LICENSE": "ID_TITULACION_PERSONAL_SANITARIO",
    "MAC_ADDRESS": "IDENTIF_DISPOSITIVOS_NRSERIE",
    "UUID": "OTRO_NUMERO_IDENTIF",
    "CRYPTO": "OTRO_NUMERO_IDENTIF",
    "IBAN_CODE": "OTRO_NUMERO_IDENTIF",
    "CREDIT_CARD": "OTRO_NUMERO_IDENTIF",
}

#: Same NER label mapping as Presidio's own ``conf/spacy_multilingual.yaml``.
PRESIDIO_NER_CONFIGURATION = {
    "model_to_presidio_entity_mapping": {
        "PER": "PERSON",
        "PERSON": "PERSON",
        "NORP": "NRP",
        "FAC": "LOCATION",
        "LOC": "LOCATION",
        "LOCATION": "LOCATION",
        "GPE": "LOCATION",
        "ORG": "ORGANIZATION",
        "ORGANIZATION": "ORGANIZATION",
        "DATE": "DATE_TIME",
        "TIME": "DATE_TIME",
    },
    "low_confidence_score_multiplier": 0.4,
    "low_score_entity_names": ["ORG", "ORGANIZATION"],
}

NOTES = [
    "Presidio baseline: NlpEngineProvider(spacy) with supported_languages=['es'] and "
    "RecognizerRegistry.load_predefined_recognizers(languages=['es']) (Presidio's default recognizer "
    "YAML: EsNif, EsNie, CreditCard, Email, Phone, Url, Ip, Iban, Date, Crypto, MacAddress, Uuid, "
    "MedicalLicense recognizers and the SpacyRecognizer), with the PhoneRecognizer replaced by "
    "PhoneRecognizer(supported_regions=('ES',)) because the default regions miss Spanish numbers; "
    "the exact list is in config.recognizers.",
    "Presidio recommends spaCy es_core_news_md for Spanish; it is GPL-3.0 and not installable "
    "here, so the NLP engine is a blank spacy.blank('es') pipeline saved to a temporary folder. "
    "The baseline therefore has no NER model: its recall on names, locations, hospitals and "
    "institutions is zero by construction, and its speed excludes the cost of an NER model.",
    "tldextract (used by EmailRecognizer) is kept offline: TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS='' and "
    "the module-level extractor replaced by TLDExtract(suffix_list_urls=(), cache_dir=None), which "
    "uses the suffix-list snapshot bundled with tldextract; network_attempts counts connections "
    "and DNS lookups refused by a socket guard in each worker (0 = none attempted).",
    "Presidio's overlapping results (e.g. a URL inside an e-mail address) are resolved as "
    "presidio-anonymizer does before redacting (default MERGE_SIMILAR_OR_CONTAINED); analyzer "
    "score threshold is Presidio's default (0).",
    "Presidio entity types are mapped to MEDDOCAN labels with PRESIDIO_TO_MEDDOCAN (see the JSON "
    "field label_mapping); strict scoring needs the exact MEDDOCAN label and offsets.",
    "Speed: one warm-up note untimed, then the best of N full passes over all notes in one "
    "process; docs_per_s and chars_per_s come from the best pass. Each system runs in its own "
    "fresh Python process: peak_rss_mb is that process's ru_maxrss (interpreter, libraries, "
    "notes and system); baseline_rss_mb is the RSS after reading the notes, before importing "
    "the system.",
]


# ---------------------------------------------------------------------------------------- corpus


def read_notes(docs_dir: Path, limit: int | None) -> tuple[list[str], list[str]]:
    """Document ids and texts of the ``.txt`` files in ``docs_dir`` (sorted by id)."""
    from alia_clin.io.brat import read_text

    paths = sorted(docs_dir.glob("*.txt"))[: limit or None]
    return [p.stem for p in paths], [read_text(p) for p in paths]


# ---------------------------------------------------------------------------------------- systems


def build_alia(batch_size: int) -> tuple[Runner, dict[str, Any]]:
    """alia_clin's rules pipeline (``alia_clin.load("alia-clin-rules")``) with only its
    de-identification stage on.

    The other stages of the pipeline (sections, measurements, assertions) are not
    de-identification and Presidio does not do them, so they are disabled, exactly as
    ``alia-clin process --tasks deid`` does.
    """
    import alia_clin

    nlp = alia_clin.load(alia_clin.RULES_MODEL)
    nlp.select_pipes(enable=["alia_deid"])

    def run(texts: Sequence[str]) -> list[Spans]:
        return [
            [(s.start_char, s.end_char, s.label_) for s in doc.spans.get("phi", [])]
            for doc in nlp.pipe(texts, batch_size=batch_size)
        ]

    config = {
        "loader": "alia_clin.load('alia-clin-rules'); nlp.select_pipes(enable=['alia_deid'])",
        "pipeline": nlp.meta.get("name"),
        "pipeline_version": nlp.meta.get("version"),
        "pipe_names": list(nlp.pipe_names),
        "batch_size": batch_size,
    }
    return run, config


def _offline_tldextract() -> None:
    """Make tldextract use its bundled suffix-list snapshot and never fetch the list."""
    import tldextract
    import tldextract.tldextract as tld_module

    tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def _presidio_analyzer(model_dir: Path) -> Any:
    """AnalyzerEngine for 'es' over a blank spaCy pipeline stored at ``model_dir``."""
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import PhoneRecognizer

    spacy.blank("es").to_disk(model_dir)
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "es", "model_name": str(model_dir)}],
            "ner_model_configuration": PRESIDIO_NER_CONFIGURATION,
        }
    )
    nlp_engine = provider.create_engine()
    registry = RecognizerRegistry(supported_languages=["es"])
    registry.load_predefined_recognizers(languages=["es"], nlp_engine=nlp_engine)
    # The default PhoneRecognizer regions (US, GB, DE, …) miss Spanish numbers.
    registry.remove_recognizer("PhoneRecognizer", language="es")
    registry.add_recognizer(PhoneRecognizer(supported_language="es", supported_regions=("ES",)))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["es"])


def _resolve_conflicts(results: Sequence[Any]) -> list[tuple[int, int, str]]:
    """Overlap resolution of presidio-anonymizer (what it would actually redact)."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import ConflictResolutionStrategy, RecognizerResult

    converted = [RecognizerResult(r.entity_type, r.start, r.end, r.score) for r in results]
    kept = AnonymizerEngine()._remove_conflicts_and_get_text_manipulation_data(
        converted, ConflictResolutionStrategy.MERGE_SIMILAR_OR_CONTAINED
    )
    return [(r.start, r.end, r.entity_type) for r in kept]


def _describe(recognizer: Any) -> str:
    """Recognizer name, with its regions for the phone recognizer."""
    regions = getattr(recognizer, "supported_regions", None)
    return f"{recognizer.name}(supported_regions={list(regions)})" if regions else recognizer.name


def build_presidio(batch_size: int, workdir: Path) -> tuple[Runner, dict[str, Any]]:
    """Presidio's recommended Spanish setup, offline, with a blank spaCy model (see NOTES)."""
    _offline_tldextract()
    from presidio_analyzer import BatchAnalyzerEngine

    analyzer = _presidio_analyzer(workdir / "es_blank")
    batch = BatchAnalyzerEngine(analyzer_engine=analyzer)
    predicted_types: Counter[str] = Counter()

    def run(texts: Sequence[str]) -> list[Spans]:
        predicted_types.clear()
        out: list[Spans] = []
        for results in batch.analyze_iterator(list(texts), language="es", batch_size=batch_size):
            spans = _resolve_conflicts(results)
            predicted_types.update(label for _, _, label in spans)
            out.append([(s, e, PRESIDIO_TO_MEDDOCAN.get(t, f"PRESIDIO_{t}")) for s, e, t in spans])
        return out

    config = {
        "nlp_engine": "spacy (blank 'es' pipeline, no NER)",
        "supported_languages": ["es"],
        "recognizers": sorted(_describe(r) for r in analyzer.registry.get_recognizers("es", all_fields=True)),
        "batch_size": batch_size,
        "score_threshold": analyzer.default_score_threshold,
        "predicted_entity_types": predicted_types,  # filled by the last run
    }
    return run, config


# ----------------------------------------------------------------------------------------- worker


def worker(system: str, docs_dir: Path, repeats: int, batch_size: int, limit: int | None) -> None:
    """Build one system in this (fresh) process, time it and print one JSON line to stdout."""
    guard = NetworkGuard().install()
    ids, texts = read_notes(docs_dir, limit)
    baseline_rss = current_rss_mb()
    with tempfile.TemporaryDirectory(prefix="alia_deid_bench_") as tmp:
        start = time.perf_counter()
        if system == "alia_clin_rules":
            run, config = build_alia(batch_size)
        else:
            run, config = build_presidio(batch_size, Path(tmp))
        build_s = time.perf_counter() - start
        timing, predictions = time_best_of(run, texts, repeats=repeats, warmup=1)
    if "predicted_entity_types" in config:
        config["predicted_entity_types"] = dict(sorted(config["predicted_entity_types"].items()))
    result = {
        "system": system,
        "config": config,
        "build_s": build_s,
        "speed": timing.to_dict(),
        "memory": {"baseline_rss_mb": baseline_rss, "peak_rss_mb": peak_rss_mb()},
        "network_attempts": len(guard.attempts),
        "predictions": dict(zip(ids, predictions, strict=True)),
    }
    sys.stdout.write(json.dumps(result) + "\n")


# ------------------------------------------------------------------------------------------- main


def _scored(system_out: dict[str, Any], gold: dict[str, Spans]) -> dict[str, Any]:
    """Evaluate a worker's predictions and drop them from the record."""
    from alia_clin.evaluation.deid import evaluate, format_report

    preds = {doc: [tuple(s) for s in spans] for doc, spans in system_out.pop("predictions").items()}
    report = evaluate(gold, preds)  # type: ignore[arg-type]
    print(f"\n== {system_out['system']} ==\n{format_report(report)}")
    system_out["metrics"] = report.to_dict()
    return system_out


def _plot(out: Path, systems: dict[str, dict[str, Any]], support: dict[str, int], n_docs: int) -> None:
    """Left: per-label strict F1 of each system (labels by gold support); right: documents/s."""
    gold_labels = list(support)
    scores = {
        name: [rec["metrics"]["per_label"].get(label, {}).get("f1", 0.0) for label in gold_labels]
        for name, rec in systems.items()
    }
    speed = {name: rec["speed"]["docs_per_s"] for name, rec in systems.items()}
    plot_labels_and_speed(
        out.with_suffix(".png"),
        labels=[f"{label} ({support[label]})" for label in gold_labels],
        scores=scores,
        speed=speed,
        score_title="strict F1 per MEDDOCAN label (gold support)",
        speed_title="throughput (best of N, CPU)",
        suptitle=f"De-identification on MEDDOCAN dev ({n_docs} notes)",
    )


def _summary(systems: dict[str, dict[str, Any]], ratio: float | None) -> None:
    """Print a short comparison."""
    print("\nsystem               strict F1  merged F1  char recall   docs/s   peak RSS MB  net")
    for name, rec in systems.items():
        m, s = rec["metrics"], rec["speed"]
        print(
            f"{name:<20} {m['strict']['f1']:>9.4f} {m['merged']['f1']:>10.4f} {m['char_recall']:>12.4f}"
            f" {s['docs_per_s']:>8.1f} {rec['memory']['peak_rss_mb']:>13.0f} {rec['network_attempts']:>4d}"
        )
    if ratio is not None:
        print(f"speed ratio alia/presidio (docs/s): {ratio:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments; run as the orchestrator or, with ``--worker``, as one system's worker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpora", type=Path, default=default_corpora_dir(),
                        help="folder holding meddocan/ (default: $ALIA_CLIN_CORPORA or ../shared/corpora)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/deid_rules"),
                        help="output path without suffix; writes <out>.json and <out>.png")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--repeats", type=int, default=2, help="timed full passes; the best is kept")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="only the first N notes (smoke runs)")
    parser.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    parser.add_argument("--worker", choices=SYSTEMS, help=argparse.SUPPRESS)
    parser.add_argument("--docs-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        worker(args.worker, args.docs_dir, args.repeats, args.batch_size, args.limit)
        return 0

    from alia_clin import __version__
    from alia_clin.evaluation.deid import read_spans_dir

    docs_dir = (args.corpora / "meddocan" / args.split).resolve()
    if not docs_dir.is_dir():
        parser.error(f"corpus folder not found: {docs_dir}")
    ids, texts = read_notes(docs_dir, args.limit)
    gold_all = read_spans_dir(docs_dir)
    gold = {doc: gold_all.get(doc, []) for doc in ids}
    counts = Counter(label for spans in gold.values() for _, _, label in set(spans))
    label_support = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    worker_args = ["--docs-dir", str(docs_dir), "--repeats", str(args.repeats),
                   "--batch-size", str(args.batch_size)]
    if args.limit:
        worker_args += ["--limit", str(args.limit)]
    systems: dict[str, dict[str, Any]] = {}
    for system in args.systems:
        print(f"running {system} …", flush=True)
        systems[system] = _scored(run_worker(Path(__file__), ["--worker", system, *worker_args]), gold)

    ratio: float | None = None
    if set(SYSTEMS) <= set(systems):
        speeds = {name: rec["speed"]["docs_per_s"] for name, rec in systems.items()}
        ratio = speeds["alia_clin_rules"] / speeds["presidio_es"]
    record = {
        "benchmark": "deid_rules",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": "python benchmarks/deid_benchmark.py " + " ".join(sys.argv[1:]),
        "corpus": {
            "name": "MEDDOCAN",
            "split": args.split,
            "n_docs": len(ids),
            "n_chars": sum(len(t) for t in texts),
            "gold_spans": sum(label_support.values()),
            "label_support": label_support,
        },
        "versions": {"alia_clin": __version__,
                     **versions(["spacy", "presidio-analyzer", "presidio-anonymizer", "tldextract",
                                 "phonenumbers", "torch", "numpy"])},
        "machine": machine_info(),
        "settings": {"repeats": args.repeats, "warmup_docs": 1, "batch_size": args.batch_size,
                     "process_per_system": True},
        "label_mapping": PRESIDIO_TO_MEDDOCAN,
        "systems": systems,
        "speed_ratio_alia_over_presidio": {"docs_per_s": ratio},
        "notes": NOTES,
    }
    write_json(args.out.with_suffix(".json"), record)
    _plot(args.out, systems, label_support, len(ids))
    _summary(systems, ratio)
    print(f"\nwrote {args.out.with_suffix('.json')} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    sys.exit(main())

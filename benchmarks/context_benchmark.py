"""Assertion (ConText) benchmark: alia_context on E3C (es, eu), NUBes (es) and synthetic ca/gl.

Usage (from the repository root)::

    python benchmarks/context_benchmark.py --corpora ../shared/corpora --out benchmarks/results/context

* **E3C layer 1** (``e3c/{Spanish,Basque}/layer1``, UIMA CAS XMI read with the stdlib XML
  parser): gold EVENT spans become ``doc.ents`` (as ``alia-clin process --entities-from`` does:
  exact spans, overlaps resolved by ``spacy.util.filter_spans``); an event is gold-negated when
  its polarity is NEG. P/R/F1 of ``negated``. E3C is CC BY-NC: used here for evaluation only,
  nothing in the lexicons was derived from it.
* **CLI check**: the Spanish E3C notes are written as ``.txt`` + gold EVENT ``.ann`` files to a
  temporary folder and run through ``alia-clin process --input-format brat --entities-from GOLD
  --tasks context --model PIPELINE_DIR``; the ``A… Negated`` lines of the output are scored the
  same way (it must agree with the in-process figure).
* **NUBes** (dev split of our own: ``NUBes/SAMPLE-010``): every annotated scope entity (DISO,
  PROC, SUBS, BODY, OTHER) is an entity; it is gold-negated (-uncertain) when it is, or lies
  inside a Phrase that is, the Scope/DiscScope of a Neg (Uncert) cue. NUBes annotates only
  negated and uncertain scopes, so every entity is one or the other (precision is measured
  against the other class).
* **Synthetic ca / gl** (``tests/context/data_{ca,gl}.jsonl``, written for this project):
  accuracy of the full assertion value.

Writes ``<out>.json`` (metrics and counts, never text) and ``<out>.png``.

**Learned scope head** (``--scope-head DIR --encoder DIR``, results in ``--scope-out``, default
``benchmarks/results/context_scope``): a pipeline ``alia_encoder`` (the frozen encoder the head
was trained on) + ``alia_sections`` + ``alia_context`` with the head. Each note is encoded once;
every combination policy (:data:`alia_clin.context.combine.POLICIES`) is then scored on the same
states: NUBes dev (SAMPLE-010) negated / uncertain P/R/F1 and the head's word-level cue/scope
P/R/F1, E3C es and eu negated P/R/F1 (both readings of test results). The policy kept for
Spanish is the one with the best mean of NUBes dev negated and uncertain F1 (rules unless a
combination beats them); Basque, Catalan and Galician keep the rules (no dev data in those
languages; E3C is evaluation only and never chooses anything). ``--save-head DIR`` writes the
head with the chosen policies.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO_ROOT, default_corpora_dir, dev_half, machine_info, versions, write_json

XMI_ID = "{http://www.omg.org/XMI}id"
#: Label of the E3C gold spans (their annotation type): the context stage reads ``EVENT`` as an
#: occurrence, which a negative test result does not negate (``test_labels``).
E3C_LABEL = "EVENT"
#: Label of NUBes and synthetic gold spans: an entity of no particular kind.
ENTITY_LABEL = "ENTITY"


def build_pipeline(max_scope: int = 5, negative_results: str | None = None) -> Any:
    """A blank pipeline with alia_clin's tokenizer, ``alia_sections`` and ``alia_context``.

    ``negative_results`` None keeps the component's default setting (the shipped one).
    """
    import spacy

    from alia_clin.pipeline import context, sections, tokenizer  # noqa: F401

    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "alia_clin.WordPunctTokenizer.v1"}}})
    nlp.add_pipe("alia_sections")
    cfg: dict[str, Any] = {"max_scope": max_scope}
    if negative_results is not None:
        cfg["negative_results"] = negative_results
    nlp.add_pipe("alia_context", config=cfg)
    nlp.initialize()
    return nlp


# ------------------------------------------------------------------------------------ readers


def read_e3c(folder: Path) -> list[tuple[str, str, list[tuple[int, int, bool]]]]:
    """``(doc_id, text, [(start, end, negated)])`` for every XMI file of an E3C layer folder."""
    docs = []
    for path in sorted(folder.glob("*.xml")):
        root = ET.parse(path).getroot()
        sofas = {e.attrib[XMI_ID]: e.attrib.get("sofaString", "") for e in root if e.tag.endswith("}Sofa")}
        events: list[tuple[int, int, bool]] = []
        text = ""
        for e in root:
            if e.tag.endswith("}EVENT"):
                text = sofas.get(e.attrib.get("sofa", ""), text)
                b, en = int(e.attrib["begin"]), int(e.attrib["end"])
                if en > b:
                    events.append((b, en, e.attrib.get("polarity") == "NEG"))
        if not text and sofas:
            text = next(iter(sofas.values()))
        docs.append((path.stem, text, events))
    return docs


SCOPE_LABELS = {"DISO", "PROC", "SUBS", "BODY", "OTHER"}


def read_nubes(folder: Path) -> list[tuple[str, str, list[tuple[int, int, str]]]]:
    """``(doc_id, text, [(start, end, "negated"|"uncertain"|"")])`` for a NUBes sample folder."""
    docs = []
    for ann in sorted(folder.glob("*.ann")):
        text = ann.with_suffix(".txt").read_text(encoding="utf-8", errors="replace")
        spans: dict[str, tuple[str, list[tuple[int, int]]]] = {}
        rels: list[tuple[str, str]] = []
        for line in ann.read_text(encoding="utf-8").splitlines():
            if line.startswith("T"):
                tid, info = line.split("\t")[:2]
                label, offs = info.split(" ", 1)
                pairs = [p.split() for p in offs.split(";")]
                spans[tid] = (label, [(int(p[0]), int(p[1])) for p in pairs])
            elif line.startswith("R"):
                _, info = line.split("\t")[:2]
                kind, a1, a2 = info.split()
                if kind in ("Scope", "DiscScope"):
                    rels.append((a1.split(":")[1], a2.split(":")[1]))
        cls: dict[str, str] = {}
        phrase_cls: list[tuple[int, int, str]] = []
        for cue, target in rels:
            if cue not in spans or target not in spans:
                continue
            value = "negated" if spans[cue][0].startswith("Neg") else "uncertain"
            label, parts = spans[target]
            if label == "Phrase":
                phrase_cls.extend((s, e, value) for s, e in parts)
            elif cls.get(target) != "negated":
                cls[target] = value
        items = []
        for tid, (label, parts) in spans.items():
            if label not in SCOPE_LABELS:
                continue
            start, end = parts[0][0], parts[-1][1]
            value = cls.get(tid, "")
            if not value:
                inside = [v for s, e, v in phrase_cls if s <= start and end <= e]
                value = "negated" if "negated" in inside else (inside[0] if inside else "")
            items.append((start, end, value))
        docs.append((ann.stem, text, items))
    return docs


# ------------------------------------------------------------------------------------ scoring


def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    """Precision, recall, F1 and counts."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "tp": tp, "fp": fp, "fn": fn}


def predict(
    nlp: Any, text: str, items: list[tuple[int, int]], language: str, label: str = ENTITY_LABEL
) -> dict[tuple[int, int], str]:
    """Assertions of ``items`` (character spans, all labelled ``label``) as ``alia-clin process
    --entities-from`` gives them."""
    from spacy.util import filter_spans

    from alia_clin.pipeline.spans import exact_spans

    doc = nlp.make_doc(text)
    doc._.language = language
    doc.ents = filter_spans(exact_spans(doc, [(s, e, label) for s, e in items if e <= len(text)]))
    doc = nlp(doc)
    return {(e.start_char, e.end_char): e._.assertion for e in doc.ents}


def eval_binary(
    nlp: Any,
    docs: list[tuple[str, str, list[tuple[int, int, Any]]]],
    language: str,
    value: str,
    label: str = ENTITY_LABEL,
) -> dict[str, Any]:
    """P/R/F1 of one assertion value over entities (labelled ``label``) kept after overlap resolution."""
    tp = fp = fn = 0
    dropped = total = 0
    start = time.perf_counter()
    for _id, text, items in docs:
        preds = predict(nlp, text, [(s, e) for s, e, _ in items], language, label)
        for s, e, gold in items:
            total += 1
            if (s, e) not in preds:
                dropped += 1
                continue
            g = gold is True or gold == value
            p = preds[(s, e)] == value
            tp += g and p
            fp += p and not g
            fn += g and not p
    out = prf(tp, fp, fn)
    out.update({"documents": len(docs), "entities": total, "dropped_overlapping": dropped})
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out


def eval_synthetic(nlp: Any, path: Path) -> dict[str, Any]:
    """Accuracy of the assertion value on a synthetic JSONL file (sentence, entities)."""
    correct = total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        preds = predict(nlp, row["text"], [(s, e) for s, e, _ in row["entities"]], row["language"])
        for s, e, gold in row["entities"]:
            total += 1
            correct += preds.get((s, e)) == gold
    return {"accuracy": round(correct / total, 4) if total else 0.0, "entities": total}


def cli_check(nlp: Any, docs: list[tuple[str, str, list[tuple[int, int, bool]]]]) -> dict[str, Any]:
    """Run ``alia-clin process`` on the E3C notes with gold entities; score its BRAT output."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        notes, gold, out, model = root / "in", root / "gold", root / "out", root / "model"
        notes.mkdir()
        gold.mkdir()
        nlp.to_disk(model)
        for doc_id, text, items in docs:
            (notes / f"{doc_id}.txt").write_text(text, encoding="utf-8", newline="")
            lines = [f"T{k + 1}\tEVENT {s} {e}\t{text[s:e]}" for k, (s, e, _) in enumerate(items)]
            (gold / f"{doc_id}.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")
        exe = Path(sys.executable).parent / "alia-clin"
        cmd = [
            str(exe),
            "process",
            str(notes),
            "--out",
            str(out),
            "--input-format",
            "brat",
            "--entities-from",
            str(gold),
            "--tasks",
            "context",
            "--model",
            str(model),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        result: dict[str, Any] = {"returncode": proc.returncode}
        if proc.returncode != 0:
            result["stderr_tail"] = proc.stderr[-400:]
            return result
        tp = fp = fn = 0
        for doc_id, _text, items in docs:
            ann = (out / f"{doc_id}.ann").read_text(encoding="utf-8")
            tspans: dict[str, tuple[int, int]] = {}
            negated: set[tuple[int, int]] = set()
            for line in ann.splitlines():
                if line.startswith("T"):
                    tid, info = line.split("\t")[:2]
                    parts = info.split()
                    tspans[tid] = (int(parts[1]), int(parts[-1]))
                elif line.startswith("A"):
                    _, info = line.split("\t")[:2]
                    name, tid = info.split()[:2]
                    if name == "Negated":
                        negated.add(tspans[tid])
            for s, e, g in items:
                p = (s, e) in negated
                tp += g and p
                fp += p and not g
                fn += g and not p
        result.update(prf(tp, fp, fn))
        return result


def plot(path: Path, results: dict[str, Any]) -> None:
    """Bars of P/R/F1 per evaluation, accuracy for the synthetic sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [(k, v) for k, v in results["evaluations"].items() if "f1" in v]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.25
    for j, metric in enumerate(("precision", "recall", "f1")):
        ax1.bar(
            [i + (j - 1) * width for i in range(len(rows))], [v[metric] for _, v in rows], width, label=metric
        )
    ax1.set_xticks(range(len(rows)), [k for k, _ in rows], rotation=15, fontsize=8)
    ax1.set_ylim(0, 1)
    ax1.legend(loc="lower right", fontsize=8)
    ax1.set_title("alia_context: assertion P/R/F1 (gold entities)")
    acc = [(k, v["accuracy"]) for k, v in results["evaluations"].items() if "accuracy" in v]
    ax2.bar([k for k, _ in acc], [a for _, a in acc], color="tab:green")
    ax2.set_ylim(0, 1)
    ax2.set_title("synthetic accuracy")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


# ------------------------------------------------------------------------------- scope head


def build_scope_pipeline(encoder_dir: Path, head_dir: Path, max_scope: int = 5, stride: int = 64) -> Any:
    """``alia_encoder`` (frozen ``encoder_dir``) + ``alia_sections`` + ``alia_context`` with the head."""
    import spacy

    from alia_clin.pipeline import context, encoder, sections, tokenizer  # noqa: F401

    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "alia_clin.WordPunctTokenizer.v1"}}})
    nlp.add_pipe("alia_encoder", config={"stride": stride})
    nlp.add_pipe("alia_sections")
    nlp.add_pipe("alia_context", config={"max_scope": max_scope})
    nlp.get_pipe("alia_encoder").initialize(model=str(encoder_dir))
    nlp.get_pipe("alia_sections").initialize()
    nlp.get_pipe("alia_context").initialize(scope_head=str(head_dir))
    return nlp


def _prepared_docs(
    nlp: Any,
    docs: list[tuple[str, str, list[tuple[int, int, Any]]]],
    language: str,
    label: str = ENTITY_LABEL,
) -> list[Any]:
    """Docs with gold entities as ``doc.ents``, encoded and sectioned once (states kept with the doc)."""
    from spacy.util import filter_spans

    from alia_clin.pipeline.spans import exact_spans

    out = []
    for _id, text, items in docs:
        doc = nlp.make_doc(text)
        doc._.language = language
        doc.ents = filter_spans(exact_spans(doc, [(s, e, label) for s, e, _ in items if e <= len(text)]))
        for name in ("alia_encoder", "alia_sections"):
            doc = nlp.get_pipe(name)(doc)
        out.append(doc)
    return out


def _score_policy(
    nlp: Any,
    prepared: list[Any],
    docs: list[tuple[str, str, list[tuple[int, int, Any]]]],
    language: str,
    policy: str,
    values: tuple[str, ...],
    negative_results: str = "negated",
) -> dict[str, Any]:
    """P/R/F1 of each of ``values`` with ``policy`` for ``language`` over already encoded docs."""
    ctx = nlp.get_pipe("alia_context")
    ctx.cfg["scope_policies"] = {language: policy}
    ctx.cfg["negative_results"] = negative_results
    counts = {v: [0, 0, 0] for v in values}
    start = time.perf_counter()
    for doc, (_id, _text, items) in zip(prepared, docs, strict=True):
        doc = ctx(doc)
        preds = {(e.start_char, e.end_char): e._.assertion for e in doc.ents}
        for s, e, gold in items:
            if (s, e) not in preds:
                continue
            for v in values:
                g = gold is True or gold == v
                p = preds[(s, e)] == v
                c = counts[v]
                c[0] += g and p
                c[1] += p and not g
                c[2] += g and not p
    ctx.cfg["negative_results"] = "negated"
    out: dict[str, Any] = {v: prf(*counts[v]) for v in values}
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out


def affirmed_proxy(
    nubes: list[tuple[str, str, list[tuple[int, int, Any]]]], scope_dir: Path
) -> list[tuple[str, str, list[tuple[int, int, Any]]]]:
    """Dictionary entities of NUBes notes outside every annotated cue and scope: affirmed by proxy.

    NUBes annotates every negation and uncertainty scope, so a clinical term (``alia_terms``,
    the terminology matcher of the default pipeline) that overlaps no cue, no scope and no gold
    entity is neither negated nor uncertain. These entities make false positives on affirmed
    mentions measurable on the dev split (NUBes alone only measures the two scoped classes).
    """
    import alia_clin
    from alia_clin.training.scope import read_nubes_scopes

    rules = alia_clin.load(alia_clin.RULES_MODEL)
    scopes = {n.id: n for n in read_nubes_scopes(scope_dir)}
    out = []
    with rules.select_pipes(enable=["alia_terms"]):
        for doc_id, text, items in nubes:
            blocked = [(s, e) for spans in scopes[doc_id].spans.values() for s, e in spans]
            blocked += [(s, e) for s, e, _ in items]
            doc = rules(text)
            ents = [
                (e.start_char, e.end_char, "")
                for e in doc.ents
                if not any(e.start_char < b and a < e.end_char for a, b in blocked)
            ]
            out.append((doc_id, text, ents))
    return out


def _memoize_probabilities(head: Any) -> dict[int, Any]:
    """Cache the head's per-note probabilities (keyed by the EncodedNote object, alive while its doc is).

    Policies and thresholds then re-read the same probabilities; clear the returned dict when
    the docs go away.
    """
    cache: dict[int, Any] = {}
    original = head.probabilities

    def memo(encoded: Any, sentences: Any) -> Any:
        key = id(encoded)
        if key not in cache:
            cache[key] = original(encoded, sentences)
        return cache[key]

    head.probabilities = memo
    return cache


def scope_head_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    """Score rules, head and every policy x threshold; choose the Spanish (policy, threshold) on dev."""
    from spacy.util import filter_spans

    from alia_clin.context.combine import POLICIES
    from alia_clin.encoder.scope_head import ScopeHead, sentence_words
    from alia_clin.pipeline.encoder import get_encoded, set_encoded
    from alia_clin.pipeline.spans import exact_spans
    from alia_clin.training.scope import (
        DEV_SAMPLE,
        EncodedScopeNote,
        read_nubes_scopes,
        token_metrics,
        word_targets,
    )

    t0 = time.perf_counter()
    nlp = build_scope_pipeline(args.encoder, args.scope_head, args.max_scope, args.stride)
    head = nlp.get_pipe("alia_context").scope_head
    trained_threshold = head.threshold
    memo = _memoize_probabilities(head)
    thresholds = sorted(set(args.thresholds) | {trained_threshold})
    combos = [("rules", None)] + [(p, th) for p in POLICIES if p != "rules" for th in thresholds]

    def key(policy: str, th: float | None) -> str:
        return policy if th is None else f"{policy}@{th:g}"

    evals: dict[str, Any] = {}
    timings: dict[str, float] = {}
    nubes_dir = args.corpora / "nubes" / "NUBes" / DEV_SAMPLE
    nubes = read_nubes(nubes_dir)
    t = time.perf_counter()
    prepared = _prepared_docs(nlp, nubes, "es")
    timings["nubes_dev_encode_s"] = round(time.perf_counter() - t, 1)
    # The same notes with proxy-affirmed dictionary entities (same encoder states, no re-encoding).
    affirmed = affirmed_proxy(nubes, nubes_dir)
    prepared_aff = []
    for doc, (_id, text, items) in zip(prepared, affirmed, strict=True):
        doc2 = nlp.make_doc(text)
        doc2._.language = "es"
        doc2.ents = filter_spans(exact_spans(doc2, [(s, e, ENTITY_LABEL) for s, e, _ in items]))
        set_encoded(doc2, get_encoded(doc))
        prepared_aff.append(nlp.get_pipe("alia_sections")(doc2))
    n_affirmed = sum(len(d.ents) for d in prepared_aff)
    for policy, th in combos:
        head.threshold = trained_threshold if th is None else th
        gold = _score_policy(nlp, prepared, nubes, "es", policy, ("negated", "uncertain"))
        evals[f"nubes_dev/{key(policy, th)}"] = gold
        aff = _score_policy(nlp, prepared_aff, affirmed, "es", policy, ("negated", "uncertain"))
        combined: dict[str, Any] = {"affirmed_entities": n_affirmed}
        for v in ("negated", "uncertain"):
            g, a = gold[v], aff[v]
            combined[v] = prf(g["tp"] + a["tp"], g["fp"] + a["fp"], g["fn"] + a["fn"])
            combined[v]["fp_on_affirmed"] = a["fp"]
        evals[f"nubes_dev_with_affirmed/{key(policy, th)}"] = combined
    head.threshold = trained_threshold
    del prepared_aff

    def dev_score(k: str) -> float:
        r = evals[f"nubes_dev_with_affirmed/{k}"]
        return (r["negated"]["f1"] + r["uncertain"]["f1"]) / 2

    ranking = sorted(combos, key=lambda c: (-dev_score(key(*c)), combos.index(c)))
    chosen_policy, chosen_th = ranking[0]
    best_th = trained_threshold if chosen_th is None else chosen_th
    # Word-level cue/scope metrics of the head on the same states, at the chosen threshold.
    scope_notes = {n.id: n for n in read_nubes_scopes(nubes_dir)}
    encoded = []
    for doc, (doc_id, text, _items) in zip(prepared, nubes, strict=True):
        enc = get_encoded(doc)
        note = scope_notes[doc_id]
        encoded.append(
            EncodedScopeNote(
                doc_id, enc, word_targets(enc.words, note.spans), sentence_words(text, enc.words)
            )
        )
    head.threshold = best_th
    evals["nubes_dev_head_words"] = token_metrics(head, encoded)
    del prepared, encoded
    memo.clear()
    e3c_combos = [("rules", None)] + [(p, best_th) for p in POLICIES if p != "rules"]
    if best_th != trained_threshold:
        e3c_combos += [(p, trained_threshold) for p in POLICIES if p != "rules"]
    for lang, folder in (("es", "Spanish"), ("eu", "Basque")):
        e3c = read_e3c(args.corpora / "e3c" / folder / "layer1")
        t = time.perf_counter()
        prep = _prepared_docs(nlp, e3c, lang, E3C_LABEL)
        timings[f"e3c_{lang}_encode_s"] = round(time.perf_counter() - t, 1)
        for policy, th in e3c_combos:
            head.threshold = trained_threshold if th is None else th
            k = key(policy, th)
            evals[f"e3c_{lang}/{k}"] = _score_policy(nlp, prep, e3c, lang, policy, ("negated",))["negated"]
            evals[f"e3c_{lang}_events/{k}"] = _score_policy(
                nlp, prep, e3c, lang, policy, ("negated",), negative_results="present"
            )["negated"]
        del prep
        memo.clear()
    head.threshold = best_th
    chosen = {"es": chosen_policy, "eu": "rules", "ca": "rules", "gl": "rules"}
    if args.save_head:
        del head.probabilities  # drop the benchmark's memo before saving
        head.policies = {k: v for k, v in chosen.items() if v != "rules"}
        head.save(args.save_head)
    timings["total_s"] = round(time.perf_counter() - t0, 1)
    return {
        "benchmark": "context_scope",
        "config": {
            "max_scope": args.max_scope,
            "trained_threshold": trained_threshold,
            "thresholds": thresholds,
            "policies": list(POLICIES),
        },
        "head": {k: v for k, v in ScopeHead.load(args.scope_head).config().items() if k != "policies"},
        "evaluations": evals,
        "selection": {
            "criterion": "mean of NUBes dev (SAMPLE-010) negated F1 and uncertain F1, gold entities plus "
            "proxy-affirmed dictionary entities outside every annotated cue/scope; over policy x threshold",
            "dev_scores": {key(*c): round(dev_score(key(*c)), 4) for c in combos},
            "chosen": chosen,
            "chosen_key": key(chosen_policy, chosen_th),
            "threshold": best_th,
            "why_rules_elsewhere": "no dev data in eu/ca/gl; E3C (CC BY-NC) is evaluation data only",
        },
        "timings": timings,
        "notes": "Head trained on a hashed subset of NUBes SAMPLE-002..009 (train part) with the encoder "
        "frozen (CPU only). NUBes dev = SAMPLE-010, used to choose policy and threshold, so the chosen "
        "row is optimistic. NUBes annotates only negated/uncertain entities: 'nubes_dev' precision is "
        "only measured against the other class; 'nubes_dev_with_affirmed' adds dictionary entities "
        "outside every annotated cue/scope as affirmed. E3C: evaluation only, never selects.",
        "versions": versions(["alia-clin", "spacy", "torch", "transformers"]),
        "machine": machine_info(),
    }


def plot_scope(path: Path, results: dict[str, Any]) -> None:
    """F1 per policy at the chosen threshold: NUBes dev (+affirmed) negated / uncertain, E3C es / eu."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ev = results["evaluations"]
    th = results["selection"]["threshold"]
    keys = ["rules"] + [f"{p}@{th:g}" for p in results["config"]["policies"] if p != "rules"]
    series = {
        "NUBes dev negated": [ev[f"nubes_dev/{k}"]["negated"]["f1"] for k in keys],
        "NUBes dev uncertain": [ev[f"nubes_dev/{k}"]["uncertain"]["f1"] for k in keys],
        "NUBes dev+affirmed negated": [ev[f"nubes_dev_with_affirmed/{k}"]["negated"]["f1"] for k in keys],
        "NUBes dev+affirmed uncertain": [ev[f"nubes_dev_with_affirmed/{k}"]["uncertain"]["f1"] for k in keys],
        "E3C es negated": [ev[f"e3c_es/{k}"]["f1"] for k in keys],
        "E3C es negated (events)": [ev[f"e3c_es_events/{k}"]["f1"] for k in keys],
        "E3C eu negated": [ev[f"e3c_eu/{k}"]["f1"] for k in keys],
    }
    fig, ax = plt.subplots(figsize=(12, 4.8))
    width = 0.8 / len(series)
    for j, (name, vals) in enumerate(series.items()):
        ax.bar([i + (j - len(series) / 2 + 0.5) * width for i in range(len(keys))], vals, width, label=name)
    ax.set_xticks(range(len(keys)), keys)
    ax.set_ylim(0.5, 1)
    ax.set_ylabel("F1")
    chosen = results["selection"]["chosen_key"]
    ax.set_title(
        f"alia_context + scope head: F1 per policy (threshold {th:g}; es kept on NUBes dev: {chosen})"
    )
    ax.legend(loc="lower left", fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpora", type=Path, default=default_corpora_dir())
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "context")
    ap.add_argument("--max-scope", type=int, default=5)
    ap.add_argument("--skip-cli", action="store_true")
    ap.add_argument("--skip-nubes", action="store_true")
    ap.add_argument(
        "--scope-head", type=Path, help="Scope head folder: benchmark the head and policies only."
    )
    ap.add_argument("--encoder", type=Path, help="The frozen encoder the scope head was trained on.")
    ap.add_argument("--scope-out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "context_scope")
    ap.add_argument("--save-head", type=Path, help="Write the head with the chosen policies here.")
    ap.add_argument("--stride", type=int, default=64, help="alia_encoder window stride (pieces).")
    ap.add_argument("--thresholds", type=float, nargs="+", default=[0.3, 0.5, 0.7, 0.9])
    args = ap.parse_args(argv)
    if args.scope_head is not None:
        if args.encoder is None:
            ap.error("--scope-head needs --encoder")
        res = scope_head_benchmark(args)
        write_json(args.scope_out.with_suffix(".json"), res)
        plot_scope(args.scope_out.with_suffix(".png"), res)
        for name, v in res["evaluations"].items():
            print(name, json.dumps(v)[:300])
        print("selection", json.dumps(res["selection"]))
        return 0
    nlp = build_pipeline(args.max_scope)
    evals: dict[str, Any] = {}
    e3c_es = read_e3c(args.corpora / "e3c" / "Spanish" / "layer1")
    e3c_eu = read_e3c(args.corpora / "e3c" / "Basque" / "layer1")
    evals["e3c_es_negated"] = eval_binary(nlp, e3c_es, "es", "negated", E3C_LABEL)
    evals["e3c_eu_negated"] = eval_binary(nlp, e3c_eu, "eu", "negated", E3C_LABEL)
    # Half A of the Spanish documents was read for the error analysis behind the 2026-12-05
    # rules; half B was not, so it is the fairer estimate of the shipped setting.
    for half in "AB":
        part = [d for d in e3c_es if dev_half(d[0]) == half]
        evals[f"e3c_es_negated_half_{half}"] = eval_binary(nlp, part, "es", "negated", E3C_LABEL)
    # E3C's event convention: a test with a negative result still happened (polarity POS).
    nlp_events = build_pipeline(args.max_scope, "present")
    evals["e3c_es_negated_events"] = eval_binary(nlp_events, e3c_es, "es", "negated", E3C_LABEL)
    evals["e3c_eu_negated_events"] = eval_binary(nlp_events, e3c_eu, "eu", "negated", E3C_LABEL)
    # ConText's reading: every negative result negates what it reaches, the test included.
    nlp_all = build_pipeline(args.max_scope, "negated")
    evals["e3c_es_negated_all_results"] = eval_binary(nlp_all, e3c_es, "es", "negated", E3C_LABEL)
    evals["e3c_eu_negated_all_results"] = eval_binary(nlp_all, e3c_eu, "eu", "negated", E3C_LABEL)
    if not args.skip_nubes:
        nubes = read_nubes(args.corpora / "nubes" / "NUBes" / "SAMPLE-010")
        evals["nubes_dev_negated"] = eval_binary(nlp, nubes, "es", "negated")
        evals["nubes_dev_uncertain"] = eval_binary(nlp, nubes, "es", "uncertain")
    for lang in ("ca", "gl"):
        evals[f"synthetic_{lang}"] = eval_synthetic(
            nlp, REPO_ROOT / "tests" / "context" / f"data_{lang}.jsonl"
        )
    if not args.skip_cli:
        evals["cli_e3c_es_negated"] = cli_check(nlp, e3c_es)
    results = {
        "benchmark": "context",
        "config": {
            "max_scope": args.max_scope,
            "negative_results": nlp.get_pipe("alia_context").cfg["negative_results"],
            "readings": {
                "e3c_*_negated, nubes_*": "the shipped setting",
                "e3c_*_negated_events": "negative_results='present' (E3C's event convention)",
                "e3c_*_negated_all_results": "negative_results='negated' (ConText's reading)",
            },
        },
        "evaluations": evals,
        "targets": {
            "e3c_es_negated_f1": 0.90,
            "e3c_eu_negated_f1": 0.80,
            "nubes_negated_f1": 0.90,
            "nubes_uncertain_f1": 0.75,
            "synthetic_accuracy": 0.90,
        },
        "notes": "E3C (CC BY-NC) and NUBes were used for evaluation only: no text of either is in the "
        "package. The Spanish discontinuation and resolution triggers were added after error analyses of "
        "NUBes SAMPLE-001..009 (train part); NUBes dev = NUBes/SAMPLE-010 (not looked at). "
        "The 2026-12-05 rules "
        "(an affirmative verb entity starts a new clause, outcome triggers do not reach the action they "
        "name, EVENT labels read as occurrences under 'auto', antibody/test words, 'impedir' triggers, "
        "'imposibilidad de descartar', 'no contraindica', 'de ningún tipo') came from an error analysis of "
        "E3C es layer-1 half A (SHA-256 of the document id, even); half B was not looked at. "
        "The 2026-12-06 triggers ('nula', 'rechaza', 'en ningún momento', '(no toma)', 'imposible', "
        "'quitar' ...) came from NUBes SAMPLE-002..009 only.",
        "versions": versions(["alia-clin", "spacy"]),
        "machine": machine_info(),
    }
    write_json(args.out.with_suffix(".json"), results)
    plot(args.out.with_suffix(".png"), results)
    for name, v in evals.items():
        print(name, {k: v[k] for k in ("precision", "recall", "f1", "accuracy", "returncode") if k in v})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

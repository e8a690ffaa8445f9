"""``alia_sections``: section-heading detection (run it before ``alia_context``).

Reads ``doc.text`` and tokens; writes ``doc.spans[spans_key]`` (default ``"sections"``): one
span per section, from its heading to the next heading, labelled with the canonical section
name (``past_history``, ``family_history``, ``present_illness``, ``physical_exam``, ``tests``,
``diagnosis``, ``treatment``, ``evolution``, ``plan``, ``allergies``, ``medication``,
``social_history``, ``reason_for_visit``); ``doc.spans[spans_key].attrs["heading_ends"]`` holds
the character offset where each heading ends (its start for an implicit section, which has no
heading words: see :mod:`alia_clin.context.sections`). The Span extension ``span._.section`` (a getter)
returns the name of the section that contains the span's start, or None.

Headings of every language are matched together (case reports mix them rarely, and a heading
phrase is unambiguous across es/ca/eu/gl). The headings load in ``initialize()`` (package data,
or a ``headings`` dict) or ``from_disk()`` (``headings.json`` in the component directory).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from ..context.sections import SectionMatcher, load_sections_data
from ..context.sentences import doc_words
from ..errors import AliaClinRuntimeError, ErrorCode
from ..extensions import install_extensions
from .base import ErrorHandlingPipe

DEFAULT_SPANS_KEY = "sections"
HEADINGS_FILE = "headings.json"


def _section_getter(span: Span) -> str | None:
    """The section name of the section span (``doc.spans["sections"]``) containing ``span``."""
    group = span.doc.spans.get(DEFAULT_SPANS_KEY) if span.doc.spans is not None else None
    if not group:
        return None
    starts = [s.start_char for s in group]
    k = bisect_right(starts, span.start_char) - 1
    if k < 0:
        return None
    section = group[k]
    return str(section.label_) if span.start_char < section.end_char else None


def install_section_extensions() -> None:
    """Register ``Span._.section`` once (idempotent)."""
    install_extensions()
    if not Span.has_extension("section"):
        Span.set_extension("section", getter=_section_getter)


class SectionsComponent(ErrorHandlingPipe):
    """The ``alia_sections`` pipe. See the module docstring for what it reads and writes."""

    def __init__(self, nlp: Language, name: str, *, spans_key: str, max_extra_words: int) -> None:
        install_section_extensions()
        self.name = name
        self.cfg: dict[str, Any] = {"spans_key": spans_key, "max_extra_words": int(max_extra_words)}
        self._matcher: SectionMatcher | None = None

    @property
    def is_initialized(self) -> bool:
        """Whether the headings are loaded."""
        return self._matcher is not None

    @property
    def matcher(self) -> SectionMatcher:
        """The compiled headings (E001 before ``initialize()``/``from_disk()``)."""
        if self._matcher is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        return self._matcher

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Any]] | None = None,
        *,
        nlp: Any = None,
        headings: dict[str, Any] | None = None,
    ) -> None:
        """Load the packaged headings, or ``headings`` (same format as ``sections.json``)."""
        self._set_data(headings if headings is not None else load_sections_data())

    def _set_data(self, data: dict[str, Any]) -> None:
        self._matcher = SectionMatcher(data, max_extra_words=self.cfg["max_extra_words"])

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate docs; errors go through spaCy's error handler."""
        matcher = self.matcher
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            for doc in docs:
                try:
                    self._annotate(doc, matcher)
                except Exception as exc:  # spaCy's error-handler contract
                    error_handler(self.name, self, [doc], exc)
            yield from docs

    def _annotate(self, doc: Doc, matcher: SectionMatcher) -> None:
        words = doc_words(doc)
        headings = matcher.find(doc.text, words)
        spans: list[Span] = []
        ends: list[int] = []
        for n, h in enumerate(headings):
            start_tok = words[h.start].i
            end_tok = words[headings[n + 1].start].i if n + 1 < len(headings) else len(doc)
            # Trim trailing whitespace tokens so the section ends at its last word.
            while end_tok > start_tok + 1 and doc[end_tok - 1].is_space:
                end_tok -= 1
            spans.append(Span(doc, start_tok, end_tok, label=h.name))
            ends.append(words[h.end - 1].end if h.end > h.start else words[h.start].start)
        key = self.cfg["spans_key"]
        doc.spans[key] = spans
        doc.spans[key].attrs["heading_ends"] = ends

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps({"cfg": self.cfg, "headings": self.matcher.data})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> SectionsComponent:
        msg = srsly.msgpack_loads(data)
        self.cfg.update(msg["cfg"])
        self._set_data(msg["headings"])
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        srsly.write_json(p / "cfg.json", self.cfg)
        srsly.write_json(p / HEADINGS_FILE, self.matcher.data)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> SectionsComponent:
        p = Path(path)
        self.cfg.update(srsly.read_json(p / "cfg.json"))
        self._set_data(srsly.read_json(p / HEADINGS_FILE))
        return self



@Language.factory(
    "alia_sections",
    assigns=["doc.spans"],
    default_config={"spans_key": DEFAULT_SPANS_KEY, "max_extra_words": 4},
)
def make_sections(nlp: Language, name: str, spans_key: str, max_extra_words: int) -> SectionsComponent:
    """Create the ``alia_sections`` pipe (no I/O here: headings load in ``initialize``/``from_disk``)."""
    return SectionsComponent(nlp, name, spans_key=spans_key, max_extra_words=max_extra_words)

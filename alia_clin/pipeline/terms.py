"""``alia_terms``: dictionary entity recognition from the terminology table.

Reads tokens, ``doc.ents`` (kept as they are: a model's or given entities win) and
``doc.spans["phi"]`` when de-identification ran (PHI tokens are never part of an entity).
Writes ``doc.ents``: every longest, non-overlapping occurrence of a term of the curated table
(:mod:`alia_clin.clinical.terminology`: preferred terms, es/ca/eu/gl synonyms, case-sensitive
short abbreviations) that does not overlap an existing entity, labelled ENFERMEDAD (disorders),
SINTOMA (findings), PROCEDIMIENTO or FARMACO. ``alia_codes`` then codes them.

This is the rules-only fallback of ``alia_ner``: precise on the terms it knows, blind to the
rest (see the model card for its measured recall). ``initialize()`` loads the packaged table;
``to_disk`` stores the table so a saved pipeline keeps the one it was built with.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from ..clinical.dictionary import MentionDictionary
from ..clinical.terminology import Terminology
from ..errors import AliaClinRuntimeError, ErrorCode
from .table import TABLE_FILE, TerminologyTablePipe

PHI_KEY = "phi"


class TermsComponent(TerminologyTablePipe):
    """The ``alia_terms`` pipe. See the module docstring for what it reads and writes."""

    def __init__(self, nlp: Language, name: str, *, phi_key: str) -> None:
        self.name = name
        self.nlp = nlp
        self.cfg: dict[str, Any] = {"phi_key": phi_key}
        self._dictionary: MentionDictionary | None = None

    def _index(self, text: str) -> None:
        terminology = Terminology._read(text, TABLE_FILE)
        tokenizer = self.nlp.tokenizer
        self._dictionary = MentionDictionary(terminology, lambda term: [t.text for t in tokenizer(term)])

    def __call__(self, doc: Doc) -> Doc:
        if self._dictionary is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        blocked: set[int] = set()
        for ent in doc.ents:
            blocked.update(range(ent.start, ent.end))
        group = doc.spans.get(self.cfg["phi_key"])
        if group is not None:
            for span in group:
                blocked.update(range(span.start, span.end))
        found = self._dictionary.find([t.text for t in doc], blocked)
        if found:
            new = [Span(doc, m.start, m.end, label=m.label) for m in found]
            doc.ents = filter_spans([*doc.ents, *new])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate every doc of the stream."""
        for doc in stream:
            yield self(doc)


@Language.factory(
    "alia_terms",
    assigns=["doc.ents"],
    requires=["token.text"],
    default_config={"phi_key": PHI_KEY},
)
def make_terms(nlp: Language, name: str, phi_key: str) -> TermsComponent:
    """Create the ``alia_terms`` pipe (the table loads in ``initialize``/``from_disk``)."""
    return TermsComponent(nlp, name, phi_key=phi_key)

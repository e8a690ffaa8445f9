"""``alia_codes``: terminology codes for clinical entities.

Reads ``doc.ents`` and the nested entities of ``doc.spans["nested_entities"]`` (labels
ENFERMEDAD, SINTOMA, PROCEDIMIENTO, FARMACO; other labels are left uncoded); writes
``span.kb_id_`` (``"<system>:<code>"`` of the best concept's first coding: SNOMED CT for
disorders, findings and procedures, ATC for drugs) and ``span._.codings`` (every coding of that
concept as ``{"system", "code", "display"}`` dicts, plus ``concept_id`` and the match score).
The table is :mod:`alia_clin.clinical.terminology`'s curated, versioned ``concepts.tsv``;
``to_disk`` copies it into the component folder so a saved pipeline keeps the table it was
built with.

With ``drop_uncoded_phi`` (default on) it then removes an entity that no concept codes and whose
tokens all belong to ``doc.spans["phi"]``: a name, an identifier or a hospital that the entity
model took for a finding (:mod:`alia_clin.clinical.phi_entities`). A coded one stays (a drug
that ``alia_deid`` took for a name is still a drug), as the FHIR mapping emits only coded
entities where they overlap PHI.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..clinical.phi_entities import drop_entities_inside_phi
from ..clinical.terminology import LABEL_TO_CATEGORY, Terminology
from ..entities import NESTED_KEY, token_indices
from ..errors import AliaClinRuntimeError, ErrorCode
from .table import TABLE_FILE, TerminologyTablePipe

PHI_KEY = "phi"
#: Short prefixes for ``span.kb_id_``.
SYSTEM_PREFIX = {
    "http://snomed.info/sct": "snomed",
    "http://www.whocc.no/atc": "atc",
    "http://loinc.org": "loinc",
}


def _install_extensions() -> None:
    if not Span.has_extension("codings"):
        Span.set_extension("codings", default=None)


_install_extensions()


class CodesComponent(TerminologyTablePipe):
    """The ``alia_codes`` pipe. See the module docstring for what it reads and writes."""

    def __init__(
        self, nlp: Language, name: str, *, threshold: float, fuzzy: bool, drop_uncoded_phi: bool = True
    ) -> None:
        self.name = name
        self.cfg: dict[str, Any] = {
            "threshold": float(threshold),
            "fuzzy": bool(fuzzy),
            "drop_uncoded_phi": bool(drop_uncoded_phi),
        }
        self._terminology: Terminology | None = None

    def _index(self, text: str) -> None:
        self._terminology = Terminology._read(text, TABLE_FILE)

    def __call__(self, doc: Doc) -> Doc:
        if self._terminology is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        ents, changed = self._code(doc, list(doc.ents))
        if changed:
            doc.ents = ents
        group = doc.spans.get(NESTED_KEY)
        if group is not None and len(group):
            nested, changed = self._code(doc, list(group))
            if changed:
                doc.spans[NESTED_KEY] = nested
        if self.cfg.get("drop_uncoded_phi", True):
            phi_tokens = token_indices(doc.spans.get(PHI_KEY))
            drop_entities_inside_phi(doc, phi_tokens, keep=lambda span: bool(span.kb_id_))
        return doc

    def _code(self, doc: Doc, spans: list[Span]) -> tuple[list[Span], bool]:
        """``spans`` with ``kb_id`` and ``_.codings`` set where a concept matches; whether any did."""
        assert self._terminology is not None
        out: list[Span] = []
        changed = False
        for ent in spans:
            match = None
            if ent.label_.upper() in LABEL_TO_CATEGORY:
                match = self._terminology.code_span(
                    ent.text, ent.label_, fuzzy=self.cfg["fuzzy"], threshold=self.cfg["threshold"]
                )
            if match is None or not match.codings:
                out.append(ent)
                continue
            first = match.codings[0]
            kb_id = f"{SYSTEM_PREFIX.get(first.system, first.system)}:{first.code}"
            new = Span(doc, ent.start, ent.end, label=ent.label, kb_id=kb_id)
            out.append(new)
            changed = True
            new._.codings = {
                "concept_id": match.concept_id,
                "score": match.score,
                "codings": [c.to_dict() for c in match.codings],
            }
        return out, changed

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Code every doc of the stream."""
        for doc in stream:
            yield self(doc)


@Language.factory(
    "alia_codes",
    assigns=["doc.ents", "doc.spans"],
    requires=["doc.ents"],
    default_config={"threshold": 0.88, "fuzzy": True, "drop_uncoded_phi": True},
)
def make_codes(
    nlp: Language, name: str, threshold: float, fuzzy: bool, drop_uncoded_phi: bool = True
) -> CodesComponent:
    """Create the ``alia_codes`` pipe (no I/O here: the table loads in ``initialize``/``from_disk``).

    ``threshold`` / ``fuzzy``: the terminology's fuzzy matching; ``drop_uncoded_phi``: remove an
    uncoded entity made of PHI tokens only (see the module docstring)."""
    return CodesComponent(nlp, name, threshold=threshold, fuzzy=fuzzy, drop_uncoded_phi=drop_uncoded_phi)

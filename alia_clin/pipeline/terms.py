"""``alia_terms``: dictionary entity recognition from the terminology table.

Reads tokens, ``doc.ents`` (kept as they are: a model's or given entities win, but see
``relabel_substances``), ``doc.spans["phi"]`` when de-identification ran (PHI tokens are never
part of an entity) and ``doc._.language`` (detected and set when unset; Basque, ``eu``:
inflected terms are found too, "sukarrik", "bularreko minik"; see
:mod:`alia_clin.clinical.dictionary`).
Writes ``doc.ents``: every longest, non-overlapping occurrence of a term of the curated table
(:mod:`alia_clin.clinical.terminology`: preferred terms, es/ca/eu/gl synonyms, case-sensitive
short abbreviations) that does not overlap an existing entity, labelled ENFERMEDAD (disorders),
SINTOMA (findings), PROCEDIMIENTO or FARMACO. ``alia_codes`` then codes them.

With ``nested`` (default on) it also writes ``doc.spans["nested_entities"]``
(:data:`alia_clin.entities.NESTED_KEY`) following :data:`NESTED_RULES`:

- every drug *substance* of the table (a concept with a 7-character ATC code, so not a drug
  class such as "diuréticos") that lies inside a PROCEDIMIENTO or ENFERMEDAD entity ("perfusión
  de dobutamina"; "tratamiento con IECA" is left out: IECA is a class; "doble antiagregación con
  AAS y clopidogrel" gives AAS and clopidogrel; "alergia a ibuprofeno" gives ibuprofeno),
  labelled FARMACO;
- every procedure term of the table that lies inside a SINTOMA entity, labelled PROCEDIMIENTO:
  a test and its result are one finding ("hemocultivos negativos", "auscultación cardiaca
  rítmica"), and the test is also a procedure that was done;
- a table abbreviation of the entity's own label written in parentheses inside an ENFERMEDAD or
  PROCEDIMIENTO entity ("bloqueo aurículo-ventricular (BAV) de primer grado" gives BAV,
  "resonancia magnética (RM) cardiaca" gives RM), with that label (:data:`NESTED_ABBREVIATIONS`).

Spans already in that group are kept. ``doc.ents`` cannot overlap, so without this the inner
mention would be lost.

With ``relabel_substances`` (default on) an ENFERMEDAD,
SINTOMA or PROCEDIMIENTO entity whose whole text is one drug substance of the table becomes
FARMACO first: on CardioCCC train gold 1,701 of the 1,702 entities that are exactly a table
substance are FARMACO. Off, ``doc.ents`` labels are never changed (entities given through
``alia-clin process --entities-from`` never are: this pipe is off then).

With ``lab_values`` (default on) a FARMACO entity directly followed by a concentration value
("potasio 4,2 mEq/l", "triglicéridos 308 mg/dl") is removed last: it is a lab result
(:mod:`alia_clin.clinical.lab_values`).

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

from ..clinical.dictionary import DictMatch, MentionDictionary
from ..clinical.lab_values import drop_lab_analytes
from ..clinical.terminology import Concept, Terminology
from ..entities import add_nested, relabel_entities, token_indices
from ..errors import AliaClinRuntimeError, ErrorCode
from ..extensions import install_extensions
from ..io.language import doc_language
from .table import TABLE_FILE, TerminologyTablePipe

PHI_KEY = "phi"
#: Label of a containing entity → label of the table terms written as nested entities inside it
#: (FARMACO: drug substances only). Measured on CardioCCC train gold (table 0.2.0): of the table's
#: substances inside a gold PROCEDIMIENTO 97 % (145 of 150) and inside a gold ENFERMEDAD 85 % (22
#: of 26), and of its procedures inside a gold SINTOMA 84 % (178 of 213), are gold nested
#: entities of that label; substances inside a SINTOMA (2 of 5), drug classes inside a
#: PROCEDIMIENTO (3 of 108) and other pairs are at or below 50 % and are left out.
NESTED_RULES: dict[str, str] = {
    "PROCEDIMIENTO": "FARMACO",
    "ENFERMEDAD": "FARMACO",
    "SINTOMA": "PROCEDIMIENTO",
}
#: Labels whose entities get their parenthesized table abbreviations of the same label as nested
#: entities. On CardioCCC train gold 85 % (ENFERMEDAD, 76 of 89) and 77 % (PROCEDIMIENTO, 30 of 39)
#: of these are gold nested entities; SINTOMA (0 of 1) is left out.
NESTED_ABBREVIATIONS = frozenset({"ENFERMEDAD", "PROCEDIMIENTO"})
#: The drug label: only drug substances of the table are written with it (nested or relabelled).
NESTED_DRUG = "FARMACO"
#: Entity labels that ``relabel_substances`` may turn into FARMACO.
RELABEL_FROM = frozenset({"ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO"})


def is_substance(concept: Concept) -> bool:
    """Whether a concept is one drug substance (ATC level 5, e.g. ``C01CA07``), not a class."""
    return len(concept.codes.get("atc", "")) == 7


class TermsComponent(TerminologyTablePipe):
    """The ``alia_terms`` pipe. See the module docstring for what it reads and writes."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        phi_key: str,
        nested: bool = True,
        relabel_substances: bool = True,
        lab_values: bool = True,
    ) -> None:
        install_extensions()
        self.name = name
        self.nlp = nlp
        self.cfg: dict[str, Any] = {
            "phi_key": phi_key,
            "nested": bool(nested),
            "relabel_substances": bool(relabel_substances),
            "lab_values": bool(lab_values),
        }
        self._dictionary: MentionDictionary | None = None
        self._substances: frozenset[str] = frozenset()

    def _index(self, text: str) -> None:
        terminology = Terminology._read(text, TABLE_FILE)
        tokenizer = self.nlp.tokenizer
        self._dictionary = MentionDictionary(terminology, lambda term: [t.text for t in tokenizer(term)])
        self._substances = frozenset(cid for cid, c in terminology.concepts.items() if is_substance(c))

    def __call__(self, doc: Doc) -> Doc:
        if self._dictionary is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        phi = token_indices(doc.spans.get(self.cfg["phi_key"]))
        texts = [t.text for t in doc]
        if self.cfg.get("relabel_substances", True):
            self._relabel_substances(doc, texts)
        blocked = phi.union(*(range(e.start, e.end) for e in doc.ents))
        found = self._dictionary.find(texts, blocked, language=doc_language(doc))
        if found:
            new = [Span(doc, m.start, m.end, label=m.label) for m in found]
            doc.ents = filter_spans([*doc.ents, *new])
        if self.cfg.get("lab_values", True):
            drop_lab_analytes(doc)
        if self.cfg["nested"]:
            self._add_nested(doc, texts, phi)
        return doc

    def _relabel_substances(self, doc: Doc, texts: list[str]) -> None:
        """Entities (labels in :data:`RELABEL_FROM`) that are exactly one table substance → FARMACO."""
        dictionary = self._dictionary
        assert dictionary is not None

        def label_for(ent: Span) -> str | None:
            if ent.label_ not in RELABEL_FROM:
                return None
            found = dictionary.find(texts[ent.start : ent.end], set())
            whole = len(found) == 1 and found[0].start == 0 and found[0].end == len(ent)
            return NESTED_DRUG if whole and self._fits(found[0], NESTED_DRUG) else None

        relabel_entities(doc, label_for)

    def _add_nested(self, doc: Doc, texts: list[str], phi: set[int]) -> None:
        """Table terms inside entities, per :data:`NESTED_RULES` → ``doc.spans[NESTED_KEY]``."""
        assert self._dictionary is not None
        added: list[Span] = []
        for ent in doc.ents:
            inner = NESTED_RULES.get(ent.label_)
            abbreviations = ent.label_ in NESTED_ABBREVIATIONS
            if inner is None and not abbreviations:
                continue
            words = texts[ent.start : ent.end]
            inside = [i - ent.start for i in phi if ent.start <= i < ent.end]
            for m in self._dictionary.find(words, inside):
                if m.end - m.start >= len(ent):
                    continue
                if inner is not None and self._fits(m, inner):
                    label = inner
                elif abbreviations and m.label == ent.label_ and _in_parentheses(words, m):
                    label = ent.label_
                else:
                    continue
                added.append(Span(doc, ent.start + m.start, ent.start + m.end, label=label))
        add_nested(doc, added)

    def _fits(self, match: DictMatch, label: str) -> bool:
        """Whether a table match may be written with ``label`` (FARMACO: drug substances only)."""
        if match.label != label:
            return False
        return label != NESTED_DRUG or match.concept_id in self._substances

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate every doc of the stream."""
        for doc in stream:
            yield self(doc)


def _in_parentheses(words: list[str], match: DictMatch) -> bool:
    """Whether ``match`` is one word written as ``( word )`` inside ``words``."""
    return (
        match.end - match.start == 1
        and match.start > 0
        and match.end < len(words)
        and words[match.start - 1] == "("
        and words[match.end] == ")"
    )


@Language.factory(
    "alia_terms",
    assigns=["doc.ents", "doc.spans"],
    requires=["token.text"],
    default_config={"phi_key": PHI_KEY, "nested": True, "relabel_substances": True, "lab_values": True},
)
def make_terms(
    nlp: Language, name: str, phi_key: str, nested: bool, relabel_substances: bool, lab_values: bool = True
) -> TermsComponent:
    """Create the ``alia_terms`` pipe (the table loads in ``initialize``/``from_disk``)."""
    return TermsComponent(
        nlp,
        name,
        phi_key=phi_key,
        nested=nested,
        relabel_substances=relabel_substances,
        lab_values=lab_values,
    )

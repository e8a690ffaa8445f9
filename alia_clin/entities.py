"""Clinical entities of a Doc: ``doc.ents`` plus the nested ones that ``doc.ents`` cannot hold.

spaCy's ``doc.ents`` cannot overlap, but clinical mentions do: a drug given as part of a
procedure ("perfusión de dobutamina": PROCEDIMIENTO, and inside it "dobutamina": FARMACO).
alia_clin keeps the outer mention in ``doc.ents`` and the inner one in the span group
``doc.spans[NESTED_KEY]`` (also where ``alia-clin process --entities-from`` puts given entities
that overlap another one, so none is lost); every writer (BRAT, JSONL, entity table, FHIR)
reads both through :func:`entity_spans`. Only :func:`add_nested` (the nested group) and
:func:`relabel_entities` (labels of ``doc.ents``) write.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from spacy.tokens import Doc, Span

#: Span group of entities that overlap (mostly: lie inside) an entity of ``doc.ents``.
NESTED_KEY = "nested_entities"


def nested_entities(doc: Doc) -> list[Span]:
    """The entities of ``doc.spans[NESTED_KEY]`` (empty when the group is absent)."""
    group = doc.spans.get(NESTED_KEY)
    return list(group) if group is not None else []


def entity_spans(doc: Doc) -> list[Span]:
    """Every clinical entity: ``doc.ents`` and the nested group, ordered by start, longest first."""
    spans = [*doc.ents, *nested_entities(doc)]
    return sorted(spans, key=lambda s: (s.start_char, -s.end_char, s.label_))


def add_nested(doc: Doc, spans: list[Span]) -> None:
    """Add ``spans`` to ``doc.spans[NESTED_KEY]`` (kept ordered by start, then end), leaving out
    any already in the group or in ``doc.ents`` (same tokens and label)."""
    kept = nested_entities(doc)
    seen = {(s.start, s.end, s.label_) for s in [*doc.ents, *kept]}
    new: list[Span] = []
    for span in spans:
        key = (span.start, span.end, span.label_)
        if key not in seen:
            seen.add(key)
            new.append(span)
    if new:
        doc.spans[NESTED_KEY] = sorted([*kept, *new], key=lambda s: (s.start, s.end))


def relabel_entities(doc: Doc, label_for: Callable[[Span], str | None]) -> int:
    """Give each entity of ``doc.ents`` the label ``label_for`` returns for it (None: keep its
    label); offsets never change. Returns the number of entities whose label changed."""
    ents = list(doc.ents)
    changed = 0
    for i, ent in enumerate(ents):
        label = label_for(ent)
        if label is not None and label != ent.label_:
            ents[i] = Span(doc, ent.start, ent.end, label=label)
            changed += 1
    if changed:
        doc.ents = ents
    return changed


def token_indices(spans: Iterable[Span] | None) -> set[int]:
    """The indices of every token covered by ``spans`` (None: none), e.g. the PHI tokens of
    ``doc.spans.get("phi")``."""
    return {i for span in spans or [] for i in range(span.start, span.end)}


def container_of(span: Span, ents: list[Span]) -> Span | None:
    """The shortest span of ``ents`` that contains ``span`` and is not ``span`` itself."""
    best: Span | None = None
    for ent in ents:
        inside = ent.start <= span.start and span.end <= ent.end and len(ent) > len(span)
        if inside and (best is None or len(ent) < len(best)):
            best = ent
    return best

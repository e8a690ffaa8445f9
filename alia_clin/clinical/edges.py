"""Entity edges on function words: join a continuation to the entity before it, trim the rest.

A tagger with one tag per word sometimes starts a new entity on the connector that continues
the previous one ("ventrículo izquierdo no dilatado" + ", levemente hipertrófico";
"Hemocultivos" + ": positivos para S. aureus"; "ergometría" + "que resultó normal") or leaves a
preposition or conjunction dangling at an edge ("tratamiento con", "y disnea"). CardioCCC's gold
spans practically never start or end on such a token: of the 26,022 gold spans of the 203
training notes, none starts with ``, : ( con que y e de en para`` ("sin" starts 3), none ends
with ``y e de del que en con sin por para`` and "(" or "," end at most 2, whereas the pipeline's
own predictions on those notes start 0 correct entities with these words out of about 300.
:func:`repair_entity_edges` therefore

1. **joins**: an entity whose first token is a continuation word (:data:`JOIN_LEADS`) and that
   directly follows another entity (no token between them) becomes one entity from the start
   of the previous one, with its own label (the continuation carries the finding: the result
   of a test, the hypertrophy of a ventricle); the previous entity is kept in
   ``doc.spans["nested_entities"]``, where the gold has it too;
2. **trims**: any other entity loses the function words at its edges (:data:`LEAD_TRIMS`,
   :data:`TRAIL_TRIMS`); an entity made only of them is removed.

How it was chosen, on the *training* split only: the shipped pipeline's predictions on the 203
CardioCCC training notes (strict F1 .8447) against their gold. Trimming alone gave .8475,
joins on every word of :data:`JOIN_LEADS` with the previous entity kept nested .8559, each word
helping on its own; joins at the *end* of an entity ("tratamiento con" + "CPAP") gained nothing
and are not made. The words are Spanish (the shipped model's language). Only entities with one
of the given labels are touched; no token is added to any entity, so no PHI token is reached.
Reads and writes only offsets and labels.
"""

from __future__ import annotations

from collections.abc import Set

from spacy.tokens import Doc, Span

from ..entities import add_nested

#: First tokens (lower case) that continue the entity right before: join the two.
JOIN_LEADS = frozenset({",", ":", "(", "con", "que", "y", "e", "sin", "en", "de", "para"})
#: Tokens (lower case) removed from the start of an entity that is not joined.
LEAD_TRIMS = frozenset(
    {"y", "e", "o", "u", "ni", "de", "del", "que", ":", "(", ")", ",", ";", ".", "-", "/"}
    | {"en", "con", "sin", "a", "al", "para", "por"}
)
#: Tokens (lower case) removed from the end of an entity ("a" and ")" end real gold spans).
TRAIL_TRIMS = frozenset(
    {"y", "e", "o", "u", "ni", "de", "del", "que", ":", "(", ",", ";", "-", "/"}
    | {"en", "con", "sin", "por", "para", "la", "las", "el", "los", "se"}
)


def repair_entity_edges(doc: Doc, labels: Set[str]) -> tuple[int, int]:
    """Join continuations and trim function-word edges of the ``doc.ents`` entities whose label
    is in ``labels`` (see the module docstring). Returns ``(joined, trimmed_or_removed)``."""
    merged: list[Span] = []
    kept_inside: list[Span] = []
    for ent in doc.ents:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and prev.end == ent.start
            and prev.label_ in labels
            and ent.label_ in labels
            and ent[0].lower_ in JOIN_LEADS
        ):
            merged[-1] = Span(doc, prev.start, ent.end, label=ent.label_)
            kept_inside.append(prev)
        else:
            merged.append(ent)
    out: list[Span] = []
    trimmed = 0
    for ent in merged:
        if ent.label_ not in labels:
            out.append(ent)
            continue
        start, end = ent.start, ent.end
        while start < end and doc[start].lower_ in LEAD_TRIMS:
            start += 1
        while end > start and doc[end - 1].lower_ in TRAIL_TRIMS:
            end -= 1
        if (start, end) == (ent.start, ent.end):
            out.append(ent)
            continue
        trimmed += 1
        if start < end:
            out.append(Span(doc, start, end, label=ent.label_))
    if kept_inside or trimmed:
        doc.ents = out
        add_nested(doc, [sp for sp in kept_inside if not _is_entity(sp, out)])
    return len(kept_inside), trimmed


def _is_entity(span: Span, ents: list[Span]) -> bool:
    return any((e.start, e.end, e.label_) == (span.start, span.end, span.label_) for e in ents)

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
   :data:`TRAIL_TRIMS`); an entity made only of them is removed;
3. **drops answers**: an entity that is only the answer to a checklist item, right after its
   colon ("Ortopnea: *SI*", "Edemas: *ausentes*"; :data:`ANSWER_WORDS`), is removed: no gold
   span of CardioCCC, DisTEMIST/SympTEMIST/MedProcNER, PharmaCoNER or CANTEMIST train is one
   of those words alone (one "SI" is a disease abbreviation, and no colon comes before it); so
   is an entity without a letter or digit;
4. **closes brackets**: an entity with more "(" than ")" takes the text up to the next ")" when
   it is on the same line, at most :data:`BRACKET_REACH` characters on, and touches no other
   entity and no PHI token ("stent a descendente anterior (DA" → "… (DA)").

How it was chosen, on the *training* split only: the shipped pipeline's predictions on the 203
CardioCCC training notes (strict F1 .8447) against their gold. Trimming alone gave .8475,
joins on every word of :data:`JOIN_LEADS` with the previous entity kept nested .8559, each word
helping on its own; joins at the *end* of an entity ("tratamiento con" + "CPAP") gained nothing
and are not made. Closing brackets then raised it to .8585 (of 66 entities extended, 32 became
exact gold spans and 11 that were exact stopped being so; 41 of the 26,022 gold spans have
unbalanced brackets). Later (session 29) more trims, each word at an edge where none of the
26,022 gold spans of CardioCCC train has it: articles, "un(a)", "su(s)", "tras", "como" and "muy"
at the start; "no", "tras", "su(s)", "un(a)", "como" and "muy" at the end (CardioCCC dev:
.7623 → .7626). The words are Spanish (the shipped model's language). Only entities with
one of the given labels are touched; joins and trims add no token to any entity, and a bracket
is closed only over tokens outside every entity and PHI span. Reads and writes only offsets and
labels.

In Catalan and Galician notes the function words of the note's language are trimmed too
(:data:`LANGUAGE_TRIMS`: "dispnea *i*", "*co* edema"), and everywhere an entity that starts on
the apostrophe of an elision starts after it ("l" + "'enalapril" → "enalapril"). Spanish notes
are unchanged by both (no Spanish gold span starts on an elision apostrophe).
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
    | {"el", "la", "los", "las", "un", "una", "su", "sus", "tras", "como", "muy"}
)
#: Tokens (lower case) removed from the end of an entity ("a" and ")" end real gold spans).
TRAIL_TRIMS = frozenset(
    {"y", "e", "o", "u", "ni", "de", "del", "que", ":", "(", ",", ";", "-", "/"}
    | {"en", "con", "sin", "por", "para", "la", "las", "el", "los", "se"}
    | {"no", "tras", "su", "sus", "un", "una", "como", "muy"}
)
#: Function words of Catalan and Galician, also removed at the edges of an entity, but only in a
#: note of that language (leading, trailing): Catalan "i" is "and" ("dispnea *i*"), Galician "co"
#: is "con o". Compared in lower case; a word written in capitals is kept ("tipo I").
LANGUAGE_TRIMS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "ca": (
        frozenset({"i", "amb", "per", "els", "les", "dels", "als", "uns", "unes", "sense"}),
        frozenset({"i", "amb", "per", "els", "les", "dels", "sense"}),
    ),
    "gl": (
        frozenset({"co", "coa", "cos", "coas", "da", "do", "das", "dos", "na", "nas", "unha", "ou", "sen"})
        | {"os", "as"},
        frozenset({"co", "coa", "cos", "coas", "da", "do", "das", "dos", "unha", "ou", "sen", "os", "as"}),
    ),
}
#: Elided articles and prepositions before an apostrophe ("l'enalapril", "d'edemes"): an entity
#: that starts on the apostrophe right after one of them starts after it.
ELISIONS = frozenset({"l", "d", "s", "n", "m", "t", "qu"})
_APOSTROPHES = frozenset({"'", "’"})
#: Lower-cased answers to a checklist item ("Disnea: no", "Ortopnea: SI", "Edemas: ausentes").
ANSWER_WORDS = frozenset(
    {"si", "sí", "no", "ausente", "ausentes", "presente", "presentes"}
    | {"negativo", "negativa", "negativos", "negativas", "positivo", "positiva", "positivos", "positivas"}
)
#: How far (characters after the entity) the ")" closing an entity's open bracket may be.
BRACKET_REACH = 20


def repair_entity_edges(
    doc: Doc, labels: Set[str], phi_tokens: Set[int] = frozenset(), language: str = "es"
) -> tuple[int, int]:
    """Join continuations, trim function-word edges and close open brackets of the ``doc.ents``
    entities whose label is in ``labels`` (see the module docstring); ``phi_tokens``: indices of
    tokens a bracket may not be closed over; ``language``: the note's language (es/ca/eu/gl),
    which adds its :data:`LANGUAGE_TRIMS`. Returns ``(joined, trimmed_removed_or_closed)``."""
    merged, kept_inside = _join_continuations(list(doc.ents), labels)
    out: list[Span] = []
    changed = 0
    extra = LANGUAGE_TRIMS.get(language, (frozenset(), frozenset()))
    for ent in merged:
        trimmed = _trimmed(ent, extra) if ent.label_ in labels else ent
        if trimmed is not None and ent.label_ in labels and (_is_answer(trimmed) or not _has_word(trimmed)):
            trimmed = None
        changed += trimmed is not ent
        if trimmed is not None:
            out.append(trimmed)
    taken = {i for ent in out for i in range(ent.start, ent.end)} | set(phi_tokens)
    for k, ent in enumerate(out):
        closed = _closing_bracket_end(ent, taken) if ent.label_ in labels else None
        if closed is not None:
            out[k] = Span(doc, ent.start, closed, label=ent.label_)
            changed += 1
    if kept_inside or changed:
        doc.ents = out
        add_nested(doc, kept_inside)  # leaves out any span that is still an entity
    return len(kept_inside), changed


def _join_continuations(ents: list[Span], labels: Set[str]) -> tuple[list[Span], list[Span]]:
    """``ents`` with each continuation joined to the entity before it, and those first parts."""
    merged: list[Span] = []
    first_parts: list[Span] = []
    for ent in ents:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and prev.end == ent.start
            and prev.label_ in labels
            and ent.label_ in labels
            and ent[0].lower_ in JOIN_LEADS
        ):
            merged[-1] = Span(ent.doc, prev.start, ent.end, label=ent.label_)
            first_parts.append(prev)
        else:
            merged.append(ent)
    return merged, first_parts


def _has_word(ent: Span) -> bool:
    """Whether ``ent`` holds a letter or digit: an entity of punctuation alone ("'" of Catalan
    "l'enalapril") is removed; of the gold spans of CardioCCC, DisTEMIST/SympTEMIST/MedProcNER,
    PharmaCoNER and CANTEMIST train, one is (")")."""
    return any(ch.isalnum() for ch in ent.text)


def _is_answer(ent: Span) -> bool:
    """Whether ``ent`` is one answer word right after a colon (see the module docstring)."""
    if ent.end - ent.start != 1 or ent.text.lower() not in ANSWER_WORDS:
        return False
    before = ent.start - 1
    while before >= 0 and ent.doc[before].is_space:
        before -= 1
    return before >= 0 and ent.doc[before].text == ":"


def _trimmed(
    ent: Span, extra: tuple[frozenset[str], frozenset[str]] = (frozenset(), frozenset())
) -> Span | None:
    """``ent`` without the function words at its edges (``extra``: the note language's leading and
    trailing words, not when written in capitals) and without an apostrophe of elision at its
    start: itself when there are none, None when nothing else is left."""
    start, end = ent.start, ent.end
    doc = ent.doc
    lead, trail = extra
    while start < end and (
        doc[start].lower_ in LEAD_TRIMS
        or (doc[start].lower_ in lead and not doc[start].is_upper)
        or _elided(doc, start)
    ):
        start += 1
    while end > start and (
        doc[end - 1].lower_ in TRAIL_TRIMS or (doc[end - 1].lower_ in trail and not doc[end - 1].is_upper)
    ):
        end -= 1
    if (start, end) == (ent.start, ent.end):
        return ent
    return Span(doc, start, end, label=ent.label_) if start < end else None


def _elided(doc: Doc, i: int) -> bool:
    """Whether token ``i`` is an apostrophe glued to an elided word before it ("l" + "'" in
    "l'enalapril"); a quotation mark ("'fuga de contraste'") is not."""
    return (
        doc[i].text in _APOSTROPHES
        and i > 0
        and doc[i - 1].lower_ in ELISIONS
        and not doc[i - 1].whitespace_
    )


def _closing_bracket_end(ent: Span, taken: Set[int]) -> int | None:
    """The token end that closes ``ent``'s open bracket, or None (see the module docstring)."""
    if ent.text.count("(") <= ent.text.count(")"):
        return None
    doc = ent.doc
    for i in range(ent.end, len(doc)):
        token = doc[i]
        end_char = token.idx + len(token)
        if (
            i in taken
            or token.text == "("
            or end_char - ent.end_char > BRACKET_REACH
            or "\n" in doc.text[ent.end_char : end_char]
        ):
            return None
        if token.text == ")":
            return i + 1
    return None

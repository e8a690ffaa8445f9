"""The ConText algorithm: one assertion per entity from trigger scopes within a sentence.

For every sentence (:func:`~alia_clin.context.sentences.split_sentences`) the lexicon's rules
are matched (longest first; pseudo-triggers are matched and ignored). A trigger modifies an
entity of the same sentence when the entity lies in its scope:

* ``forward`` triggers reach entities after them, ``backward`` ones entities before them,
  ``both`` either way;
* the scope ends at a terminator ("pero", "aunque", "a pesar de", ";", "con", an affirmative
  verb…) unless only bridge words separate it from a forward trigger ("no *se* objetiva"); a
  forward scope also ends, with the same exception, at a forward terminator (a colon, or a
  closing parenthesis when the trigger is inside the parentheses: "(sin oxígeno) crepitantes",
  not "sospecha (RMN) de tumor"); a negation's forward scope ends at a conjunction ("y":
  Spanish coordinates negated items with "ni", so "sin fiebre y buen estado general" affirms the
  second) unless the list goes on to "ni"/"o" or the trigger states an outcome or takes
  coordinated objects ("se suspende IECA y diurético", "se descarta TVP y quiste"); and the
  scope ends at a trigger of a competing category (uncertain and hypothetical scopes end at a
  negated, uncertain or hypothetical trigger of another category; negated scopes do not);
* the scope spans at most ``max_scope`` units, a unit being a content word outside entities
  (the lexicon's ``light_words`` — articles, prepositions, auxiliaries — count for nothing), or a
  whole entity (so "no presenta fiebre, tos ni disnea" reaches every item of a list), and
  punctuation counts for nothing;
* a trigger that overlaps the entity does not modify it, unless it is a forward trigger that
  starts before the entity ("sin signos de" reaches the entity "signos de trombosis") and does
  not state an outcome (the entity "retira" in "se retira" is the withdrawal, which happened),
  or an unbounded backward negation that ends the entity and is said of its head ("*Disnea
  ausente*", "*Edemas negativos*": a tagger took the finding and its result together; not when
  a light word comes before the trigger inside the entity, as in "obstrucción de causa no
  objetivada");
* an entity that is itself a terminator (an affirmative verb: "sin incidencias y *subió*")
  starts a new clause, so a forward trigger before it does not reach it (unless only bridge
  words separate them: "no *presentó*").

The Basque partitive rule (``morphology`` in the lexicon) negates an entity whose last word,
or the word right after it, ends in -(r)ik when a negation word is in the same sentence within
``partitive_window`` words ("ez du sukarrik", "minik gabe").

Categories found for an entity, plus the one implied by its section, are resolved by
:data:`PRIORITY`; no category gives ``"present"``. Reads tokens only; writes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from .lexicon import TERMINATE, TRIGGER, ContextLexicon, Match, Rule
from .sentences import Word

#: Every assertion value ``span._.assertion`` can take.
ASSERTIONS = ("present", "negated", "uncertain", "historical", "hypothetical", "family")
#: Resolution order when several categories apply (first wins).
PRIORITY = ("negated", "family", "hypothetical", "uncertain", "historical")
#: Categories whose scopes are cut by a trigger of another competing category. Negation is not
#: cut ("no se observa lesión sugestiva de malignidad" negates "malignidad"), but it cuts the
#: others ("posible neumonía sin derrame").
COMPETING = frozenset({"negated", "uncertain", "hypothetical"})
CUTTABLE = frozenset({"uncertain", "hypothetical"})
#: Longest list item (content words) for a comma list to carry a forward scope on to "ni"/"o".
MAX_LIST_ITEM = 3
#: Closing brackets and their openers: a closing bracket that is a forward terminator ends the
#: scope of a trigger inside the brackets, not one before an aside ("sospecha (RMN) de tumor").
_OPENERS = {")": "(", "]": "["}


def _is_unit(word: Word) -> bool:
    return any(ch.isalnum() for ch in word.norm)


def _distance(
    words: Sequence[Word], lo: int, hi: int, ent_of: dict[int, int], light: frozenset[str] = frozenset()
) -> int:
    """Units between word indices ``[lo, hi)``: content words outside entities, one per entity."""
    seen: set[int] = set()
    units = 0
    for k in range(lo, hi):
        if not _is_unit(words[k]):
            continue
        ent = ent_of.get(k)
        if ent is None:
            units += words[k].norm not in light
        elif ent not in seen:
            seen.add(ent)
            units += 1
    return units


def _list_goes_on(
    words: Sequence[Word],
    matches: Sequence[Match],
    barrier: int,
    sent_end: int,
    lexicon: ContextLexicon,
    barriers: frozenset[str] | None = None,
) -> bool:
    """Whether a list continuer ("ni", "o") follows ``barrier`` while the list goes on: short
    items (at most :data:`MAX_LIST_ITEM` content words) separated by barriers, no terminator."""
    stops = {m.start for m in matches if m.rule.kind == TERMINATE}
    barriers = lexicon.forward_barriers if barriers is None else barriers
    item = 0
    for k in range(barrier + 1, sent_end):
        norm = words[k].norm
        if k in stops:
            return False
        if norm in lexicon.list_continuers:
            return True
        if norm in barriers:
            item = 0
            continue
        if _is_unit(words[k]) and norm not in lexicon.light_words:
            item += 1
            if item > MAX_LIST_ITEM:
                return False
    return False


def _ends_at_conjunction(rule: Rule) -> bool:
    """Whether the lexicon's ``conjunctions`` ("y") end this trigger's forward scope: a negation
    that is no outcome (``result``) and does not take coordinated objects (``coordinates``)."""
    return rule.category == "negated" and not rule.result and not rule.coordinates


def _blocked(
    trigger: Match,
    matches: Sequence[Match],
    lo: int,
    hi: int,
    words: Sequence[Word],
    lexicon: ContextLexicon,
    forward: bool,
    sent_end: int = 0,
) -> bool:
    """Whether a terminator, a competing trigger or (backward) a barrier lies in words ``[lo, hi)``."""
    category = trigger.rule.category
    bridge = lexicon.bridge
    barriers = lexicon.backward_barriers
    if not forward and barriers and any(words[k].norm in barriers for k in range(lo, hi)):
        return True
    fbarriers = lexicon.forward_barriers
    if forward and lexicon.conjunctions and _ends_at_conjunction(trigger.rule):
        fbarriers = fbarriers | lexicon.conjunctions
    if forward and fbarriers:
        barrier = next((k for k in range(lo, hi) if words[k].norm in fbarriers), None)
        if barrier is not None and not _list_goes_on(words, matches, barrier, sent_end, lexicon, fbarriers):
            return True
    if forward and trigger.rule.result and any(lexicon.gives_reason(words, k) for k in range(lo, hi)):
        return True  # "se suspende X por Y": Y is the reason of the stop, it happened
    if forward and lexicon.forward_terminators:
        for k in range(lo, hi):
            norm = words[k].norm
            if norm not in lexicon.forward_terminators:
                continue
            if all(words[j].norm in bridge for j in range(trigger.end, k)):
                continue
            # a bracket closing an aside opened after the trigger does not end its scope
            opener = _OPENERS.get(norm)
            if opener and any(words[j].norm == opener for j in range(trigger.end, k)):
                continue
            return True
    for m in matches:
        if m is trigger or m.start < lo or m.end > hi:
            continue
        if m.rule.kind == TERMINATE:
            if forward and all(words[k].norm in bridge for k in range(trigger.end, m.start)):
                continue
            return True
        if (
            m.rule.kind == TRIGGER
            and m.rule.category != category
            and category in CUTTABLE
            and m.rule.category in COMPETING
        ):
            return True
    return False


def _starts_clause(
    trigger: Match, matches: Sequence[Match], ws: int, words: Sequence[Word], lexicon: ContextLexicon
) -> bool:
    """Whether the entity on words from ``ws`` is itself a terminator (an affirmative verb such
    as "consultó", "presentó") that starts a new clause after a forward ``trigger``: "sin
    antecedentes de interés que *consultó*", "sin incidencias y *subió*". Only bridge words
    between the trigger and the entity keep it in scope ("no *presentó*", "no se *objetiva*")."""
    for m in matches:
        if m.start == ws and m.rule.kind == TERMINATE:
            return not all(words[k].norm in lexicon.bridge for k in range(trigger.end, ws))
    return False


def _partitive_negated(
    lexicon: ContextLexicon, words: Sequence[Word], sent: tuple[int, int], ws: int, we: int
) -> bool:
    morph = lexicon.morphology
    suffixes = tuple(morph.get("partitive_suffixes", ()))
    if not suffixes:
        return False
    excludes = tuple(morph.get("partitive_exclude_suffixes", ()))
    candidates = [words[we - 1].norm]
    if we < sent[1]:
        candidates.append(words[we].norm)
    if not any(c.endswith(suffixes) and not c.endswith(excludes) and len(c) > 3 for c in candidates):
        return False
    requires = set(morph.get("partitive_requires", ()))
    window = int(morph.get("partitive_window", 12))
    lo, hi = max(sent[0], ws - window), min(sent[1], we + window)
    return any(words[k].norm in requires for k in range(lo, hi))


def entity_categories(
    lexicon: ContextLexicon,
    words: Sequence[Word],
    sent: tuple[int, int],
    matches: Sequence[Match],
    ws: int,
    we: int,
    ent_of: dict[int, int],
    max_scope: int,
    negative_results: bool = True,
) -> set[str]:
    """Categories of the triggers whose scope covers the entity on words ``[ws, we)``.

    With ``negative_results=False`` test-result triggers ("negativo") are ignored: the test
    itself happened (E3C's event convention) even though its result is negative.
    """
    found: set[str] = set()
    for m in matches:
        rule = m.rule
        if rule.kind != TRIGGER or (rule.result and not negative_results):
            continue
        if m.start < we and ws < m.end:
            # An entity that starts inside a forward trigger that began before it ("sin signos
            # de" + "signos de trombosis", "no presentaba" + "presentaba") is in its scope; not
            # when the trigger states an outcome and the entity is that action ("se *retira*").
            # A backward negation that ends the entity is read too (see _closes_entity).
            opens = m.start < ws and rule.direction in ("forward", "both") and not rule.result
            if opens or _closes_entity(m, words, ws, we, lexicon):
                found.add(rule.category)
            continue
        scope = min(max_scope, rule.max_scope) if rule.max_scope else max_scope
        if m.end <= ws and rule.direction in ("forward", "both"):
            if _distance(words, m.end, ws, ent_of, lexicon.light_words) >= scope:
                continue
            if _is_answer(lexicon, words, m.start, m.end, sent[1]):
                continue
            if _starts_clause(m, matches, ws, words, lexicon):
                continue
            if not _blocked(m, matches, m.end, ws, words, lexicon, True, sent[1]):
                found.add(rule.category)
        elif m.start >= we and rule.direction in ("backward", "both"):
            if _distance(words, we, m.start, ent_of, lexicon.light_words) >= scope:
                continue
            if not _blocked(m, matches, we, m.start, words, lexicon, False):
                found.add(rule.category)
    if "negated" not in found and _partitive_negated(lexicon, words, sent, ws, we):
        found.add("negated")
    if we + 1 < sent[1] and _is_answer(lexicon, words, we + 1, we + 2, sent[1]):
        found.add("negated")
    return found


_ANSWER_END = frozenset({".", ",", ";", ")"})


def _closes_entity(m: Match, words: Sequence[Word], ws: int, we: int, lexicon: ContextLexicon) -> bool:
    """Whether a backward negation is the entity's own last words, said of its head.

    A tagger that takes the finding and its result together ("*Disnea ausente*", "*Edemas
    negativos*", "*Dolor torácico: negativo*") leaves the trigger inside the entity; it still
    negates what comes before it. Only an unbounded negation counts ("resuelto" and "nula" reach
    one word), and only when no light word (a preposition, an article) comes before it in the
    entity: in "obstrucción de causa *no objetivada*" the trigger is said of "causa".
    """
    rule = m.rule
    before = range(ws, m.start)
    return (
        m.end == we
        and m.start > ws
        and rule.category == "negated"
        and rule.direction in ("backward", "both")
        and not rule.max_scope
        and any(words[k].norm.isalnum() for k in before)
        and not any(words[k].norm in lexicon.light_words for k in before)
    )


def _is_answer(lexicon: ContextLexicon, words: Sequence[Word], start: int, end: int, sent_end: int) -> bool:
    """Whether words ``[start, end)`` answer a checklist item: "Disnea: *no*." (see the lexicon)."""
    return (
        bool(lexicon.negative_answers)
        and start > 0
        and words[start - 1].norm == ":"
        and all(words[k].norm in lexicon.negative_answers for k in range(start, end))
        and (end >= sent_end or words[end].norm in _ANSWER_END)
    )


def resolve(categories: set[str]) -> str:
    """The assertion value for a set of categories (see :data:`PRIORITY`)."""
    for category in PRIORITY:
        if category in categories:
            return category
    return "present"


def entity_category_sets(
    lexicon: ContextLexicon,
    words: Sequence[Word],
    sentences: Sequence[tuple[int, int]],
    entities: Sequence[tuple[int, int]],
    *,
    max_scope: int,
    implied: Sequence[str | None] | None = None,
    negative_results: bool | Sequence[bool] = True,
) -> list[set[str]]:
    """The categories found for every entity (word ranges ``[ws, we)``), before resolution.

    ``implied`` gives, per entity, a category implied by its context (e.g. ``"family"`` in a
    family-history section); it is added to the set. ``negative_results``: whether test-result
    triggers negate, for all entities or per entity.
    """
    ent_of: dict[int, int] = {}
    for n, (ws, we) in enumerate(entities):
        for k in range(ws, we):
            ent_of[k] = n
    sent_of: dict[int, int] = {}
    for n, (s, e) in enumerate(sentences):
        for k in range(s, e):
            sent_of[k] = n
    cache: dict[int, list[Match]] = {}
    out: list[set[str]] = []
    for n, (ws, we) in enumerate(entities):
        cats: set[str] = set()
        if ws < we and ws in sent_of:
            si = sent_of[ws]
            sent = sentences[si]
            if si not in cache:
                cache[si] = lexicon.match(words, sent[0], sent[1])
            we_clipped = min(we, sent[1])
            results = negative_results if isinstance(negative_results, bool) else negative_results[n]
            cats = entity_categories(
                lexicon, words, sent, cache[si], ws, we_clipped, ent_of, max_scope, results
            )
        if implied is not None and implied[n]:
            cats.add(str(implied[n]))
        out.append(cats)
    return out


def assert_entities(
    lexicon: ContextLexicon,
    words: Sequence[Word],
    sentences: Sequence[tuple[int, int]],
    entities: Sequence[tuple[int, int]],
    *,
    max_scope: int,
    implied: Sequence[str | None] | None = None,
    negative_results: bool | Sequence[bool] = True,
) -> list[str]:
    """One assertion per entity (given as word ranges ``[ws, we)``), in order.

    ``implied`` gives, per entity, a category implied by its context (e.g. ``"family"`` in a
    family-history section) that triggers of higher priority override.
    """
    sets = entity_category_sets(
        lexicon,
        words,
        sentences,
        entities,
        max_scope=max_scope,
        implied=implied,
        negative_results=negative_results,
    )
    return [resolve(cats) for cats in sets]

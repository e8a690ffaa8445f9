"""ConText trigger lexicons: JSON package data compiled into a token-sequence matcher.

A lexicon (``resources/context/<lang>.json``) has ``triggers`` (per assertion category,
``forward`` / ``backward`` / ``both`` phrase lists), ``pseudo`` phrases (look like triggers but
are not: matched and ignored), ``terminators`` (end a trigger's scope), ``bridge`` words (words
allowed between a forward trigger and a terminator that still does not cut the scope, e.g. the
clitic in "no *se* objetiva") and an optional ``morphology`` block (Basque partitive). Phrases
are matched on normalized tokens; a trigger entry is a phrase or an object ``{"phrase": ...,
"max_scope": n, "result": true, "exact": true, "coordinates": true}`` (a tighter scope; a phrase
stating the outcome of something that did happen — a negative test result, a withdrawn or
stopped drug — which the ``negative_results="present"`` setting ignores; match accents exactly,
so hypothetical "si" is not affirmative "sí"; a negation whose object may be a coordination,
which ``conjunctions`` do not end: "se descarta TVP y quiste"). ``backward_barriers`` are words
that end a backward trigger's scope (default none; "," in every shipped lexicon, as a
post-trigger modifies the phrase right before it). ``forward_barriers`` ("," in the shipped
lexicons) end a forward scope unless the list goes on to a ``list_continuers`` word ("ni", "o")
before the clause ends: "no presenta fiebre, tos ni disnea" negates all three, "sin cicatrices,
distendido" only the first. ``forward_terminators`` (")" and ":" in every shipped lexicon) end a
forward scope only: a trigger inside a parenthesis does not reach past it ("(sin oxígeno)
crepitantes"; a parenthesis opened after the trigger is an aside and does not cut) nor one
before a label past its colon ("no edemas Neurológico: consciente"), while a backward trigger
still reads through them ("VIH: negativo", "amiodarona (Trangorex) suspendida"); like
terminators they do not cut when only bridge words separate them from the trigger ("no presenta:
fiebre"). ``conjunctions`` ("y", "e" in Spanish) end the forward scope of a negation trigger
that is neither a ``result`` nor marked ``coordinates``, as ``forward_barriers`` do (a list
going on to "ni"/"o" carries it on): Spanish coordinates negated items with "ni", so "sin fiebre
y buen estado general" affirms the second. ``light_words`` (articles, prepositions, auxiliaries)
do not count towards a scope's length. A word with one of the ``verb_suffixes`` (lowercase,
accents kept: Spanish "-ó", "-aron", "-ieron" — preterites) is a terminator: a new finite verb
starts a new clause ("sin incidencias y subió a planta"). Phrases are matched on normalized
tokens (:func:`~alia_clin.context.sentences.normalize`); at every position the longest phrase
wins, so "no se descarta" (uncertain) beats "no" (negated) and "sin embargo" (terminator) beats
"sin". ``negative_answers`` ("no" in Spanish and Catalan, "non" in Galician, "ez" in Basque) answer
a checklist item: right after the item and its colon, and followed by the end of the clause
(". , ;" or ")", or the sentence's end), one negates that item ("Disnea: no.", "Edemas en
MMII: no") and negates nothing after it ("Fiebre: no; tos: sí" affirms the cough).
``reason_markers`` ("por", "debido", "ante", "tras" in Spanish) end the forward scope of a
``result`` trigger: what follows gives the reason of a stop or withdrawal, which did happen ("se
suspende enalapril *por* hipotensión" negates the drug, not the hypotension), unless they open
one of the ``reason_exceptions`` ("por el momento", "por ahora": the stop goes on).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from ..text import split_words
from .sentences import Word, phrase_tokens

#: Assertion categories a trigger can carry.
CATEGORIES = ("negated", "uncertain", "hypothetical", "historical", "family")
DIRECTIONS = ("forward", "backward", "both")
TRIGGER, PSEUDO, TERMINATE = "trigger", "pseudo", "terminate"


@dataclass(frozen=True)
class Rule:
    """One compiled phrase: its kind (trigger/pseudo/terminate), category and direction."""

    tokens: tuple[str, ...]
    kind: str
    category: str = ""
    direction: str = ""
    #: A tighter scope limit for this phrase (e.g. a postposition reaches only its own phrase).
    max_scope: int | None = None
    #: A test-result phrase ("negativo"): it negates unless results are configured not to.
    result: bool = False
    #: Lowercased tokens with accents, when the phrase must match accents exactly ("si" ≠ "sí").
    exact: tuple[str, ...] | None = None
    #: A negation taking coordinated objects ("se descarta X y Y"): ``conjunctions`` do not end it.
    coordinates: bool = False


@dataclass(frozen=True)
class Match:
    """A rule matched on words ``[start, end)`` (word indices)."""

    start: int
    end: int
    rule: Rule


@dataclass
class ContextLexicon:
    """A compiled lexicon for one language (see the module docstring)."""

    language: str
    data: dict[str, Any]
    rules: dict[str, list[Rule]] = field(default_factory=dict)
    bridge: frozenset[str] = frozenset()
    morphology: dict[str, Any] = field(default_factory=dict)
    backward_barriers: frozenset[str] = frozenset()
    forward_barriers: frozenset[str] = frozenset()
    list_continuers: frozenset[str] = frozenset()
    forward_terminators: frozenset[str] = frozenset()
    conjunctions: frozenset[str] = frozenset()
    light_words: frozenset[str] = frozenset()
    verb_suffixes: tuple[str, ...] = ()
    #: Normalized nouns naming a test or examination ("serología", "hemocultivo"): an entity
    #: holding one is a test, whose negative result does not negate it (``negative_results="auto"``).
    test_words: frozenset[str] = frozenset()
    #: Negative answers of a checklist item ("no" in "Disnea: no."): see the module docstring.
    negative_answers: frozenset[str] = frozenset()
    #: Words that end a ``result`` trigger's forward scope: the reason of a stop ("por").
    reason_markers: frozenset[str] = frozenset()
    #: Phrases opening with a reason marker that give no reason ("por el momento").
    reason_exceptions: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ContextLexicon:
        """Compile lexicon JSON data (as in ``resources/context/<lang>.json``)."""
        language = str(data.get("language", ""))
        if not language or not isinstance(data.get("triggers"), dict):
            raise AliaClinValueError(
                ErrorCode.E170, language=language or "?", reason="missing language/triggers"
            )
        table: dict[tuple[str, ...], Rule] = {}
        directions: dict[tuple[tuple[str, ...], str], set[str]] = {}
        options: dict[tuple[str, ...], dict[str, Any]] = {}
        phrase_of: dict[tuple[str, ...], str] = {}
        for category, by_dir in data["triggers"].items():
            if category not in CATEGORIES:
                raise AliaClinValueError(
                    ErrorCode.E170, language=language, reason=f"unknown category {category}"
                )
            for direction, phrases in by_dir.items():
                if direction not in DIRECTIONS:
                    raise AliaClinValueError(
                        ErrorCode.E170, language=language, reason=f"unknown direction {direction}"
                    )
                for entry in phrases:
                    phrase = entry if isinstance(entry, str) else str(entry.get("phrase", ""))
                    toks = phrase_tokens(phrase)
                    if not toks:
                        continue
                    directions.setdefault((toks, category), set()).add(direction)
                    phrase_of.setdefault(toks, phrase)
                    if isinstance(entry, dict):
                        options.setdefault(toks, {}).update(
                            {
                                k: entry[k]
                                for k in ("max_scope", "result", "exact", "coordinates")
                                if k in entry
                            }
                        )
        for (toks, category), dirs in directions.items():
            direction = "both" if "both" in dirs or dirs == {"forward", "backward"} else next(iter(dirs))
            previous = table.get(toks)
            # The same phrase in two categories: keep the stronger one (negated > uncertain > ...).
            if previous is None or CATEGORIES.index(category) < CATEGORIES.index(previous.category):
                opts = options.get(toks, {})
                scope = opts.get("max_scope")
                table[toks] = Rule(
                    toks,
                    TRIGGER,
                    category,
                    direction,
                    int(scope) if scope is not None else None,
                    bool(opts.get("result", False)),
                    _exact_tokens(phrase_of[toks]) if opts.get("exact") else None,
                    bool(opts.get("coordinates", False)),
                )
        for phrase in data.get("pseudo", []):
            toks = phrase_tokens(phrase)
            if toks:
                table[toks] = Rule(toks, PSEUDO)
        for phrase in data.get("terminators", []):
            toks = phrase_tokens(phrase)
            if toks:
                table[toks] = Rule(toks, TERMINATE)
        rules: dict[str, list[Rule]] = {}
        for rule in table.values():
            rules.setdefault(rule.tokens[0], []).append(rule)
        for lst in rules.values():
            lst.sort(key=lambda r: -len(r.tokens))
        bridge = frozenset(t for p in data.get("bridge", []) for t in phrase_tokens(p))
        barriers = frozenset(t for p in data.get("backward_barriers", []) for t in phrase_tokens(p))
        fbarriers = frozenset(t for p in data.get("forward_barriers", []) for t in phrase_tokens(p))
        continuers = frozenset(t for p in data.get("list_continuers", []) for t in phrase_tokens(p))
        fterms = frozenset(t for p in data.get("forward_terminators", []) for t in phrase_tokens(p))
        conjunctions = frozenset(t for p in data.get("conjunctions", []) for t in phrase_tokens(p))
        light = frozenset(t for p in data.get("light_words", []) for t in phrase_tokens(p))
        verbs = tuple(str(v).lower() for v in data.get("verb_suffixes", []))
        tests = frozenset(toks[0] for p in data.get("test_words", []) if len(toks := phrase_tokens(p)) == 1)
        answers = frozenset(t for p in data.get("negative_answers", []) for t in phrase_tokens(p))
        reasons = frozenset(t for p in data.get("reason_markers", []) for t in phrase_tokens(p))
        not_reasons = tuple(toks for p in data.get("reason_exceptions", []) if (toks := phrase_tokens(p)))
        return cls(
            language,
            data,
            rules,
            bridge,
            dict(data.get("morphology", {})),
            barriers,
            fbarriers,
            continuers,
            fterms,
            conjunctions,
            light,
            verbs,
            tests,
            answers,
            reasons,
            not_reasons,
        )

    def gives_reason(self, words: Sequence[Word], k: int) -> bool:
        """Whether word ``k`` opens the reason of a stop ("por hipotensión", not "por ahora")."""
        if words[k].norm not in self.reason_markers:
            return False
        norms = tuple(w.norm for w in words[k : k + max((len(e) for e in self.reason_exceptions), default=0)])
        return not any(norms[: len(e)] == e for e in self.reason_exceptions)

    def match(self, words: Sequence[Word], start: int, end: int) -> list[Match]:
        """Longest-first, left-to-right matches of every rule on ``words[start:end]``."""
        found: list[Match] = []
        k = start
        while k < end:
            best: Rule | None = None
            for rule in self.rules.get(words[k].norm, ()):
                n = len(rule.tokens)
                if k + n <= end and all(words[k + j].norm == rule.tokens[j] for j in range(n)):
                    if rule.exact is not None and any(words[k + j].lower != rule.exact[j] for j in range(n)):
                        continue
                    best = rule
                    break
            if best is None:
                low = words[k].lower
                if self.verb_suffixes and len(low) >= 4 and low.endswith(self.verb_suffixes):
                    found.append(Match(k, k + 1, _VERB))
                k += 1
                continue
            found.append(Match(k, k + len(best.tokens), best))
            k += len(best.tokens)
        return found

    def to_json(self) -> str:
        """The lexicon data as JSON text (what ``to_disk`` writes)."""
        return json.dumps(self.data, ensure_ascii=False, indent=1)


#: A finite verb recognised by its ending ("subió", "realizaron"): it ends a clause.
_VERB = Rule(("<verb>",), TERMINATE)


def _exact_tokens(phrase: str) -> tuple[str, ...]:
    low = phrase.lower()
    return tuple(low[s:e] for s, e in split_words(low))


def load_lexicon_data(language: str) -> dict[str, Any]:
    """Read the packaged lexicon for ``language`` (E005 if there is none)."""
    ref = resources.files("alia_clin") / "resources" / "context" / f"{language}.json"
    if not ref.is_file():
        raise AliaClinValueError(ErrorCode.E005, language=language, choices="es, ca, eu, gl")
    data: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return data

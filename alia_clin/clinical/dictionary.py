"""Dictionary mention finder over the terminology table (no model needed).

Builds, from :class:`~alia_clin.clinical.terminology.Terminology`, an index of token sequences
(preferred terms, es/ca/eu/gl synonyms, abbreviations) and finds the longest non-overlapping
occurrences in a token sequence. Tokens are compared by :func:`token_key`: the accent- and
case-folded form of a word (:func:`~alia_clin.clinical.terminology.normalize`), or the raw text
of a punctuation token, so the same tokenizer applied to table terms and notes gives matching
keys. Abbreviations of at most four characters match case-sensitively ("IC", "FA", "HTA"), as in
the terminology lookup. Nothing here sees or logs more than token keys.

Basque inflects the last word of a noun phrase: "sukarra" (fever) is "sukarrik" after a
negation ("sukarrik ez": no fever), "sukarrarekin" (with fever); "bularreko mina" (chest pain)
is "bularreko minik". With ``language="eu"``, :meth:`MentionDictionary.find` also matches a
Basque term whose last word carries one of :data:`BASQUE_SUFFIXES` on its stem (the word, or
the word without its article "-a": "sukarr-", "min-", "ortopnea-").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..text import is_inline_gap
from .terminology import Terminology, _abbr_key, normalize

#: Table category → entity label written into ``doc.ents`` (measurements are left to
#: ``alia_measurements``).
CATEGORY_LABELS: dict[str, str] = {
    "disorder": "ENFERMEDAD",
    "finding": "SINTOMA",
    "procedure": "PROCEDIMIENTO",
    "drug": "FARMACO",
}
#: When one term belongs to concepts of several categories, the first category here wins.
CATEGORY_PRIORITY = ("disorder", "finding", "procedure", "drug")
_CASE_SENSITIVE_MAX = 4
#: Case and number endings tried on the last word of a Basque term, longest first: partitive
#: (-rik, -ik), plural and ergative (-ak, -ek), comitative (-arekin), causal (-agatik), genitive
#: (-aren), inessive (-an, -etan), dative (-ari), and the article (-a).
BASQUE_SUFFIXES = ("arekin", "ekin", "agatik", "aren", "etan", "rik", "ari", "ak", "ek", "ik", "an", "a")
#: Shortest stem left after removing an ending.
_BASQUE_MIN_STEM = 3


def token_key(text: str) -> str:
    """The comparison key of one token: folded word, or the raw text of punctuation."""
    return normalize(text) or text


@dataclass(frozen=True)
class DictMatch:
    """A match: token offsets ``[start, end)``, the entity label and the concept id."""

    start: int
    end: int
    label: str
    concept_id: str


class MentionDictionary:
    """Longest-match finder of terminology terms in token sequences."""

    def __init__(self, terminology: Terminology, tokenize: Callable[[str], Sequence[str]]) -> None:
        """Index every term of ``terminology``; ``tokenize`` splits a term into token texts
        (use the pipeline's own tokenizer so terms and notes split the same way)."""
        self._folded: dict[tuple[str, ...], tuple[str, str]] = {}  # keys → (label, concept id)
        self._exact: dict[tuple[str, ...], tuple[str, str]] = {}  # case-sensitive abbreviations
        self._eu_stems: dict[tuple[str, ...], tuple[str, str]] = {}  # Basque terms, last word a stem
        self.max_len = 1
        for cid in sorted(terminology.concepts):
            concept = terminology.concepts[cid]
            label = CATEGORY_LABELS.get(concept.category)
            if label is None:
                continue
            terms = [concept.preferred, *(t for ts in concept.synonyms.values() for t in ts)]
            for term in terms:
                self._add(self._folded, tuple(token_key(t) for t in tokenize(term)), label, cid)
            for term in concept.synonyms.get("eu", ()):
                key = tuple(token_key(t) for t in tokenize(term))
                if key and key[-1].isalpha():
                    for stem in _basque_stems(key[-1]):
                        self._add(self._eu_stems, (*key[:-1], stem), label, cid)
            for abbr in concept.abbreviations:
                if len(_abbr_key(abbr)) <= _CASE_SENSITIVE_MAX:
                    self._add(self._exact, tuple(tokenize(abbr)), label, cid)
                else:
                    self._add(self._folded, tuple(token_key(t) for t in tokenize(abbr)), label, cid)

    def _add(
        self, index: dict[tuple[str, ...], tuple[str, str]], key: tuple[str, ...], label: str, cid: str
    ) -> None:
        if not key or not any(k.isalnum() or len(k) > 1 for k in key):
            return
        current = index.get(key)
        if current is None or _rank(label) < _rank(current[0]):
            index[key] = (label, cid)
        self.max_len = max(self.max_len, len(key))

    def __len__(self) -> int:
        return len(self._folded) + len(self._exact)

    def find(
        self, tokens: Sequence[str], blocked: Iterable[int] = (), language: str | None = None
    ) -> list[DictMatch]:
        """Longest non-overlapping matches in ``tokens`` (token texts), left to right; with
        ``language="eu"`` also inflected Basque terms (see the module docstring).

        Whitespace tokens without a line break (a double space, a tab, a no-break space between
        two words) are skipped inside a term, so "insuficiencia  cardíaca" matches as
        "insuficiencia cardíaca"; a match never starts or ends on one, and a line break still
        separates terms. A match never covers a token index in ``blocked`` (e.g. tokens already
        in an entity or in a PHI span).
        """
        at = [i for i, t in enumerate(tokens) if not is_inline_gap(t)]
        words = [tokens[i] for i in at]
        keys = [token_key(t) for t in words]
        stop = set(blocked)
        found: list[DictMatch] = []
        i = 0
        n = len(words)
        while i < n:
            hit: DictMatch | None = None
            size = 1
            for length in range(min(self.max_len, n - i), 0, -1):
                start, end = at[i], at[i + length - 1] + 1
                if any(j in stop for j in range(start, end)):
                    continue
                value = self._folded.get(tuple(keys[i : i + length])) or self._exact.get(
                    tuple(words[i : i + length])
                )
                if value is None and language == "eu":
                    value = self._inflected(keys[i : i + length])
                if value is not None:
                    hit, size = DictMatch(start, end, value[0], value[1]), length
                    break
            if hit is not None:
                found.append(hit)
            i += size
        return found

    def _inflected(self, keys: Sequence[str]) -> tuple[str, str] | None:
        """The Basque term whose stem, plus one of :data:`BASQUE_SUFFIXES`, is the last key."""
        last = keys[-1]
        for suffix in BASQUE_SUFFIXES:
            stem = last[: -len(suffix)]
            if last.endswith(suffix) and len(stem) >= _BASQUE_MIN_STEM:
                value = self._eu_stems.get((*keys[:-1], stem))
                if value is not None:
                    return value
        return None


def _basque_stems(word: str) -> set[str]:
    """The stems an ending attaches to: the word, and the word without its article "-a"."""
    stems = {word}
    if word.endswith("a") and len(word) - 1 >= _BASQUE_MIN_STEM:
        stems.add(word[:-1])
    return stems


def _rank(label: str) -> int:
    for i, cat in enumerate(CATEGORY_PRIORITY):
        if CATEGORY_LABELS[cat] == label:
            return i
    return len(CATEGORY_PRIORITY)

"""Dictionary coding of clinical mentions: SNOMED CT, CIE-10-ES (ICD-10), ATC and LOINC.

Reads the curated table ``alia_clin/resources/terminology/concepts.tsv`` (package data; its
``#`` header records version, date, sources and notes). :meth:`Terminology.lookup` maps a
mention string to concepts by, in order:

1. abbreviation, case-sensitive for abbreviations of 4 characters or fewer ("IC", "FA",
   "HTA" never match "ic", "fa", "hta"), accent-insensitive otherwise ("ICFEr"/"icfer");
2. normalized term (lower case, accents stripped, punctuation and spaces collapsed) over the
   preferred term and every synonym (es/ca/eu/gl);
3. fuzzy match for terms of at least :data:`MIN_FUZZY_LEN` characters: ``difflib.SequenceMatcher``
   ratio on normalized forms at or above a threshold (the score), and at most one edit
   (insertion, deletion, substitution, adjacent transposition) per 10 characters, so that
   and the same words in the same order, each differing word keeping its first 4 characters;
   so typos match ("insuficiencia cardíca") but near-antonyms do not ("hipotiroidismo" is not
   "hipertiroidismo", "bloqueo AV de primer grado" is not "… de tercer grado", "TC abdominal" is
   not "eco abdominal"). ``rapidfuzz`` is not a dependency.

Nothing is logged; the mention text never goes into errors.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import regex

from ..errors import AliaClinValueError, ErrorCode

__all__ = [
    "CATEGORIES",
    "LABEL_TO_CATEGORY",
    "SYSTEMS",
    "Coding",
    "Concept",
    "TermMatch",
    "Terminology",
    "code_span",
    "is_valid_atc",
    "is_valid_icd10",
    "is_valid_loinc",
    "is_valid_snomed",
    "normalize",
]

CATEGORIES = ("disorder", "finding", "procedure", "drug", "measurement")
#: Code-system URIs (FHIR ``Coding.system``). CIE-10-ES is the Spanish edition of ICD-10-CM.
SYSTEMS: dict[str, str] = {
    "snomed_ct": "http://snomed.info/sct",
    "cie10es": "http://hl7.org/fhir/sid/icd-10-cm",
    "atc": "http://www.whocc.no/atc",
    "loinc": "http://loinc.org",
}
#: NER labels (Spanish and the English CardioCCC names) → table categories.
LABEL_TO_CATEGORY: dict[str, tuple[str, ...]] = {
    "ENFERMEDAD": ("disorder", "finding"),
    "DISEASE": ("disorder", "finding"),
    "SINTOMA": ("finding", "disorder"),
    "SYMPTOM": ("finding", "disorder"),
    "PROCEDIMIENTO": ("procedure",),
    "PROCEDURE": ("procedure",),
    "FARMACO": ("drug",),
    "MEDICATION": ("drug",),
}
MIN_FUZZY_LEN = 6
DEFAULT_FUZZY_THRESHOLD = 0.88
_CASE_SENSITIVE_MAX = 4
_TABLE = "concepts.tsv"
_PUNCT = regex.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """Lower case, accents stripped, runs of punctuation/space → one space ("Insuf. cardíaca" →
    "insuf cardiaca"). "·" (Catalan l·l) is dropped."""
    decomposed = unicodedata.normalize("NFKD", text.replace("·", ""))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _PUNCT.sub(" ", stripped.casefold()).strip()


def _abbr_key(text: str) -> str:
    """Key of a case-sensitive abbreviation: accents stripped, spaces/punctuation collapsed."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _PUNCT.sub(" ", stripped).strip()


# -- code validation -------------------------------------------------------------------------
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def is_valid_snomed(code: str) -> bool:
    """SNOMED CT concept id: 6–18 digits, no leading zero, concept partition ("00"/"10") and
    a valid Verhoeff check digit."""
    if not regex.fullmatch(r"[1-9]\d{5,17}", code) or code[-3:-1] not in ("00", "10"):
        return False
    check = 0
    for i, ch in enumerate(reversed(code)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[i % 8][int(ch)]]
    return check == 0


def is_valid_loinc(code: str) -> bool:
    """LOINC code ``NNNNN-C`` whose check digit C is the LOINC mod-10 (Luhn) digit."""
    m = regex.fullmatch(r"(\d{1,7})-(\d)", code)
    if not m:
        return False
    total = 0
    for i, ch in enumerate(reversed(m.group(1))):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d // 10 + d % 10
    return (10 - total % 10) % 10 == int(m.group(2))


def is_valid_icd10(code: str) -> bool:
    """ICD-10 / CIE-10-ES diagnosis code shape: letter, two digits (or digit+letter), optional
    ``.`` and 1–4 characters (``I50.9``, ``I50.810``, ``E78.00``, ``J90``)."""
    return regex.fullmatch(r"[A-TV-Z]\d[0-9A-Z](?:\.[0-9A-Z]{1,4})?", code) is not None


def is_valid_atc(code: str) -> bool:
    """ATC code at any level: ``C``, ``C03``, ``C03C``, ``C03CA``, ``C03CA01``."""
    return regex.fullmatch(r"[A-Z](?:\d{2}(?:[A-Z](?:[A-Z](?:\d{2})?)?)?)?", code) is not None


_VALIDATORS = {
    "snomed_ct": is_valid_snomed,
    "cie10es": is_valid_icd10,
    "atc": is_valid_atc,
    "loinc": is_valid_loinc,
}


# -- data types ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Coding:
    """One code of a concept (FHIR Coding-like)."""

    system: str
    code: str
    display: str

    def to_dict(self) -> dict[str, str]:
        """A JSON/msgpack-able dict."""
        return {"system": self.system, "code": self.code, "display": self.display}


@dataclass(frozen=True)
class Concept:
    """One row of the table."""

    concept_id: str
    category: str
    preferred: str
    synonyms: dict[str, tuple[str, ...]]  # language → terms (es/ca/eu/gl)
    abbreviations: tuple[str, ...]
    codes: dict[str, str]  # column (snomed_ct, cie10es, atc, loinc) → code; empty ones left out

    @property
    def codings(self) -> list[Coding]:
        """Codings in a fixed order: SNOMED CT, CIE-10-ES, ATC, LOINC."""
        return [Coding(SYSTEMS[k], self.codes[k], self.preferred) for k in SYSTEMS if k in self.codes]


@dataclass(frozen=True)
class TermMatch:
    """A lookup result: the concept, its codings, a score in (0, 1] and how it matched."""

    concept_id: str
    preferred: str
    category: str
    codings: list[Coding] = field(default_factory=list)
    score: float = 1.0
    method: str = "exact"  # "abbreviation" | "exact" | "fuzzy"
    matched: str = ""  # the table term that matched (never the input text)

    def to_dict(self) -> dict[str, Any]:
        """A JSON/msgpack-able dict."""
        return {
            "concept_id": self.concept_id,
            "preferred": self.preferred,
            "category": self.category,
            "codings": [c.to_dict() for c in self.codings],
            "score": self.score,
            "method": self.method,
            "matched": self.matched,
        }


# -- the table -------------------------------------------------------------------------------
class Terminology:
    """An in-memory index over the concept table. Build with :meth:`load` (package data)."""

    def __init__(self, concepts: Iterable[Concept], header: dict[str, str] | None = None) -> None:
        self.concepts: dict[str, Concept] = {}
        self.header = dict(header or {})
        self._terms: dict[str, list[tuple[str, str]]] = {}  # normalized term → [(id, term)]
        self._abbr_cs: dict[str, list[tuple[str, str]]] = {}  # case-sensitive key → [(id, abbr)]
        for c in concepts:
            self.concepts[c.concept_id] = c
            for lang_terms in ([c.preferred], *c.synonyms.values()):
                for term in lang_terms:
                    self._add(self._terms, normalize(term), c.concept_id, term)
            for abbr in c.abbreviations:
                key = _abbr_key(abbr)
                if len(key) <= _CASE_SENSITIVE_MAX:
                    self._add(self._abbr_cs, key, c.concept_id, abbr)
                else:
                    self._add(self._terms, normalize(abbr), c.concept_id, abbr)
        self._fuzzy_keys = sorted(k for k in self._terms if len(k) >= MIN_FUZZY_LEN)

    @staticmethod
    def _add(index: dict[str, list[tuple[str, str]]], key: str, cid: str, term: str) -> None:
        if not key:
            return
        bucket = index.setdefault(key, [])
        if all(existing != cid for existing, _ in bucket):
            bucket.append((cid, term))

    @classmethod
    def load(cls, path: str | Path | None = None) -> Terminology:
        """Read the table (default: the packaged ``concepts.tsv``); cached for the default.

        Raises ``E200`` for a malformed row and ``E201`` for an invalid code.
        """
        if path is None:
            return _default_terminology()
        return cls._read(Path(path).read_text(encoding="utf-8"), str(path))

    @classmethod
    def _read(cls, content: str, source: str) -> Terminology:
        header: dict[str, str] = {}
        columns: list[str] | None = None
        concepts: list[Concept] = []
        for line_no, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            if line.startswith("#"):
                key, _, value = line[1:].partition(":")
                header[key.strip()] = value.strip()
                continue
            cells = line.split("\t")
            if columns is None:
                columns = cells
                continue
            if len(cells) != len(columns):
                raise AliaClinValueError(
                    ErrorCode.E200,
                    path=source,
                    line=line_no,
                    reason=f"{len(cells)} cells, expected {len(columns)}",
                )
            row = dict(zip(columns, cells, strict=True))
            concepts.append(_concept_from_row(row, source, line_no))
        return cls(concepts, header)

    # -- queries -----------------------------------------------------------------------------
    def lookup(
        self,
        text: str,
        category: str | Iterable[str] | None = None,
        *,
        fuzzy: bool = True,
        threshold: float = DEFAULT_FUZZY_THRESHOLD,
        limit: int = 5,
    ) -> list[TermMatch]:
        """Concepts for a whole mention ``text``, best first (abbreviation/exact score 1.0).

        ``category`` (one or several of :data:`CATEGORIES`) filters the results. Fuzzy matching
        runs only when nothing matched exactly and the normalized text has at least
        :data:`MIN_FUZZY_LEN` characters.
        """
        cats = _categories(category)
        results: list[TermMatch] = []
        seen: set[str] = set()

        def add(cid: str, term: str, score: float, method: str) -> None:
            concept = self.concepts[cid]
            if cid in seen or (cats is not None and concept.category not in cats):
                return
            seen.add(cid)
            results.append(
                TermMatch(
                    cid, concept.preferred, concept.category, concept.codings, round(score, 4), method, term
                )
            )

        for cid, term in self._abbr_cs.get(_abbr_key(text), []):
            add(cid, term, 1.0, "abbreviation")
        norm = normalize(text)
        for cid, term in self._terms.get(norm, []):
            add(cid, term, 1.0, "exact")
        if not results and fuzzy and len(norm) >= MIN_FUZZY_LEN:
            scored: list[tuple[float, str]] = []
            matcher = difflib.SequenceMatcher(autojunk=False)
            matcher.set_seq2(norm)
            n = len(norm)
            for key in self._fuzzy_keys:
                if abs(len(key) - n) > max(2, n // 5):
                    continue
                matcher.set_seq1(key)
                if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
                    continue
                ratio = matcher.ratio()
                if (
                    ratio >= threshold
                    and _tokens_compatible(norm, key)
                    and _edit_distance(norm, key) <= max(1, n // 10)
                ):
                    scored.append((ratio, key))
            for ratio, key in sorted(scored, key=lambda x: (-x[0], x[1])):
                for cid, term in self._terms[key]:
                    add(cid, term, ratio, "fuzzy")
        return results[:limit]

    def code_span(self, span_text: str, label: str, **kwargs: object) -> TermMatch | None:
        """Best concept for an entity span labelled ``ENFERMEDAD``/``SINTOMA``/``PROCEDIMIENTO``/
        ``FARMACO`` (or the English CardioCCC labels), None when nothing matches."""
        cats = LABEL_TO_CATEGORY.get(label.upper())
        if cats is None:
            raise AliaClinValueError(
                ErrorCode.E107, value=label, field="label", choices=", ".join(sorted(LABEL_TO_CATEGORY))
            )
        matches = self.lookup(span_text, category=cats, **kwargs)  # type: ignore[arg-type]
        if not matches:
            return None
        rank = {c: i for i, c in enumerate(cats)}
        return sorted(matches, key=lambda m: (-m.score, rank[m.category]))[0]

    def __len__(self) -> int:
        return len(self.concepts)

    def n_terms(self) -> int:
        """Number of distinct (concept, term) entries: preferred terms, synonyms, abbreviations."""
        return sum(len(v) for v in self._terms.values()) + sum(len(v) for v in self._abbr_cs.values())


def _tokens_compatible(a: str, b: str) -> bool:
    """Same number of words, and every differing pair of words shares its first 4 characters
    (or all of the shorter one): a typo keeps the start of a word, while "hipo"/"hiper",
    "primer"/"tercer" or "ecg"/"eco" are different words."""
    ta, tb = a.split(), b.split()
    if len(ta) != len(tb):
        return False
    for x, y in zip(ta, tb, strict=True):
        if x == y:
            continue
        need = min(4, len(x), len(y))
        if x[:need] != y[:need]:
            return False
    return True


def _edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance (Levenshtein plus adjacent transpositions)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]


def _categories(category: str | Iterable[str] | None) -> set[str] | None:
    if category is None:
        return None
    cats = {category} if isinstance(category, str) else set(category)
    bad = sorted(cats - set(CATEGORIES))
    if bad:
        raise AliaClinValueError(
            ErrorCode.E107, value=bad[0], field="category", choices=", ".join(CATEGORIES)
        )
    return cats


def _split(cell: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in cell.split("|") if t.strip())


def _concept_from_row(row: dict[str, str], source: str, line_no: int) -> Concept:
    cid = row.get("concept_id", "").strip()
    category = row.get("category", "").strip()
    preferred = row.get("preferred_es", "").strip()
    if not cid or category not in CATEGORIES or not preferred:
        raise AliaClinValueError(
            ErrorCode.E200,
            path=source,
            line=line_no,
            reason="missing concept_id/preferred_es or bad category",
        )
    codes: dict[str, str] = {}
    for column, valid in _VALIDATORS.items():
        code = row.get(column, "").strip()
        if not code:
            continue
        if not valid(code):
            raise AliaClinValueError(ErrorCode.E201, concept_id=cid, system=column, value=code)
        codes[column] = code
    synonyms = {lang: _split(row.get(f"synonyms_{lang}", "")) for lang in ("es", "ca", "eu", "gl")}
    return Concept(cid, category, preferred, synonyms, _split(row.get("abbreviations", "")), codes)


@lru_cache(maxsize=1)
def _default_terminology() -> Terminology:
    ref = resources.files("alia_clin").joinpath("resources", "terminology", _TABLE)
    return Terminology._read(ref.read_text(encoding="utf-8"), f"alia_clin/resources/terminology/{_TABLE}")


def code_span(span_text: str, label: str) -> TermMatch | None:
    """:meth:`Terminology.code_span` on the packaged table."""
    return Terminology.load().code_span(span_text, label)

"""``alia_deid``: de-identification stage.

Reads ``doc.text``; writes ``doc.spans[spans_key]`` (default ``"phi"``): one span per PHI
mention labelled with the MEDDOCAN label set, and ``doc.spans[spans_key].attrs`` with
``"scores"`` and ``"sources"`` lists parallel to the spans. ``doc.text`` is never rewritten:
de-identified text is computed from the spans by :mod:`alia_clin.deid.anonymize`.

The stage merges PHI candidates from several *sources*. The rules layer (Presidio pattern
recognizers with checksum validation, :class:`alia_clin.deid.rules.RuleEngine`) is always
there; a model layer (a PHI token head on the shared encoder) plugs in as another source
through :meth:`DeidComponent.add_source`. ``merge`` says how candidates are merged:
``"score"`` (default) greedily by score, then length, whatever their source (checksum-validated
identifiers carry score 1.0 and therefore win over model guesses); ``"rules_first"`` keeps the
rule matches and adds only the other sources' candidates that overlap none of them and score at
least ``model_min_score`` (fewer false alarms, more leaked characters; both measured in
``benchmarks/README.md``); ``"rules_extend"`` does the same, then widens a kept rule match to
its union with the most probable overlapping model candidate (score ≥ ``model_min_score``)
when that union overlaps no other kept match, keeping the label of the higher-scored of the
two (a checksum-validated identifier keeps its label): the rules' precision, with the model's
span extents where the rules stop short (truncated addresses, names, institutions). Sources
plugged in with ``add_source`` count as model sources.

**Notes in capitals.** With ``capitals_facilities`` (default on) and a model layer, the facility
name rules' matches on lines written in capitals (:func:`~alia_clin.encoder.casing.capital_lines`) are
revised before merging (:mod:`alia_clin.deid.capitals`): a model candidate (score ≥
``model_min_score``) that overlaps one replaces it; one that no model candidate overlaps is
dropped when it opens with an ambiguous head ("CLÍNICA", "H.", "CENTRO"), else cut before its
first function word or service word. In capitals every word looks like a
name, so the rules alone ran on through the sentence ("CLÍNICA DE UN MES DE EVOLUCIÓN …").
Without a model layer nothing is revised: cut rules then left 0.8 % more PHI characters
uncovered in capitals on MEDDOCAN dev (their over-long matches also covered other PHI).

**Model layer.** With a PHI head (:class:`~alia_clin.encoder.heads.WordTagger` over the shared
encoder; :meth:`DeidComponent.set_head`, ``initialize(phi_head=DIR)``, or ``phi_head/`` in the
component directory read by ``from_disk``), a source named ``"model"`` reads the encoder states
of each doc (``doc._.alia_states`` via :func:`~alia_clin.pipeline.encoder.get_encoded`; ``E104``
when the encoder did not run) and proposes the head's spans with their mean word probability as
score (source ``"model"``; the ``labels`` filter applies to them too). ``to_disk`` writes the
head to ``phi_head/``. Without a head the stage is rules only and needs no encoder. With
``model_sex_words`` (default on), a model candidate labelled SEXO_SUJETO_ASISTENCIA must be a sex
word or code ("VI", "HVI", "QRS" are not); with ``model_clinical_words`` (default on), a model
candidate made of clinical words only ("Vena" of "Vena cava", "insulina glargina") is dropped;
with ``clinical_eponyms`` (default on), a candidate of any source inside a clinical eponym ("New
York" in "New York Heart Association", "Glasgow 15") is dropped; with ``reading_values`` (default
on), a number of any source labelled as a name or facility that is the value of a measurement ("88"
of "FC 88") is dropped. See
:mod:`alia_clin.deid.model_checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from ..deid.capitals import FACILITY_SOURCES, revise_capital_facilities
from ..deid.model_checks import (
    eponym_spans,
    inside_eponym,
    inside_reading,
    measurement_values,
    plausible_model_span,
    word_label_number,
)
from ..deid.rules import PhiMatch, RuleEngine
from ..encoder.casing import capital_lines
from ..errors import AliaClinRuntimeError, AliaClinValueError, ErrorCode
from ..extensions import install_extensions
from .base import ErrorHandlingPipe
from .spans import exact_spans

if TYPE_CHECKING:
    from ..encoder.ensemble import TaggerEnsemble
    from ..encoder.heads import WordTagger

DEFAULT_LANGUAGES = ("es", "ca", "eu", "gl")
#: Name of the model-layer source (and the ``sources`` attr value of its spans).
MODEL_SOURCE = "model"
#: Folder of the PHI head inside the component directory.
HEAD_DIR = "phi_head"


class PhiSource(Protocol):
    """Anything that proposes PHI candidates for a batch of docs (rules, a model head)."""

    def predict(self, docs: Sequence[Doc]) -> list[list[PhiMatch]]:
        """Return one list of candidates per doc, in order."""
        ...


class _RuleSource:
    """Adapts :class:`RuleEngine` to the :class:`PhiSource` protocol."""

    def __init__(self, engine: RuleEngine) -> None:
        self.engine = engine

    def predict(self, docs: Sequence[Doc]) -> list[list[PhiMatch]]:
        return self.predict_texts([doc.text for doc in docs])

    def predict_texts(self, texts: Sequence[str]) -> list[list[PhiMatch]]:
        """Same as :meth:`predict`, from the docs' texts (``Doc.text`` rebuilds the text each call)."""
        return [self.engine.analyze(text) for text in texts]


class _HeadSource:
    """The model layer: PHI spans of a word-tagger head over the doc's shared encoder states."""

    def __init__(self, head: WordTagger | TaggerEnsemble, reader: str, labels: Sequence[str] | None) -> None:
        self.head = head
        self.reader = reader
        self.labels = set(labels) if labels is not None else None

    def predict(self, docs: Sequence[Doc]) -> list[list[PhiMatch]]:
        from .encoder import get_encoded

        encoded = [get_encoded(doc, reader=self.reader) for doc in docs]
        preds = self.head.predict_many(encoded, [doc.text for doc in docs])
        return [
            [
                PhiMatch(s, e, label, float(score), MODEL_SOURCE)
                for s, e, label, score in spans
                if self.labels is None or label in self.labels
            ]
            for spans in preds
        ]


MERGE_POLICIES = ("score", "rules_first", "rules_extend")


def _plausible_model_candidates(
    candidates: list[PhiMatch], text: str, *, sex_words: bool = True, clinical_words: bool = True
) -> list[PhiMatch]:
    """``candidates`` without the model ones that :func:`plausible_model_span` rejects."""
    return [
        m
        for m in candidates
        if m.source != MODEL_SOURCE
        or plausible_model_span(
            m.label, text[m.start : m.end], sex_words=sex_words, clinical_words=clinical_words
        )
    ]


def _outside_readings(candidates: list[PhiMatch], text: str) -> list[PhiMatch]:
    """``candidates`` without the numbers labelled as words (:func:`word_label_number`) that are a
    measurement's value (:func:`inside_reading`); the note is only read for measurements when
    there is such a number."""
    numbers = [m for m in candidates if word_label_number(m.label, m.start, m.end, text)]
    if not numbers:
        return candidates
    values = measurement_values(text)
    dropped = {id(m) for m in numbers if inside_reading(m.start, m.end, values)}
    return [m for m in candidates if id(m) not in dropped]


def _outside_eponyms(candidates: list[PhiMatch], text: str) -> list[PhiMatch]:
    """``candidates`` without those inside a clinical eponym (:func:`inside_eponym`)."""
    eponyms = eponym_spans(text)
    if not eponyms:
        return candidates
    return [m for m in candidates if not inside_eponym(m.start, m.end, text, eponyms)]


def _model_read_folded(doc: Doc) -> bool:
    """Whether the model layer read ``doc``'s lines in capitals folded: true unless the encoder ran
    with ``case_fold = "none"`` (a plugged-in source without the encoder counts as folded)."""
    from .encoder import encoded_case_fold

    return encoded_case_fold(doc) != "none"


def merge_candidates(
    candidates: Iterable[PhiMatch],
    policy: str = "score",
    *,
    rule_sources: frozenset[str] | None = None,
    other_min_score: float = 0.0,
) -> list[PhiMatch]:
    """Resolve overlapping candidates: higher score first, then longer span, then earlier start.

    With ``policy="rules_first"`` the candidates whose source is in ``rule_sources`` are resolved
    first; the others (model candidates) are then added where they overlap nothing kept and score
    at least ``other_min_score``. ``policy="rules_extend"`` then widens kept rule matches with
    overlapping model candidates (:func:`extend_rule_matches`). Returns non-overlapping matches
    sorted by start offset.
    """
    if policy == "rules_extend":
        rules = rule_sources or frozenset()
        pool = list(candidates)
        base = merge_candidates(pool, "rules_first", rule_sources=rules, other_min_score=other_min_score)
        others = [m for m in pool if m.source not in rules and m.score >= other_min_score]
        return extend_rule_matches(base, others, rules)
    ranked = sorted(candidates, key=lambda m: (-m.score, -(m.end - m.start), m.start, m.label))
    if policy == "rules_first":
        rules = rule_sources or frozenset()
        first = [m for m in ranked if m.source in rules]
        rest = [m for m in ranked if m.source not in rules and m.score >= other_min_score]
        ranked = first + rest
    kept: list[PhiMatch] = []
    taken: list[tuple[int, int]] = []
    for m in ranked:
        if any(m.start < e and s < m.end for s, e in taken):
            continue
        kept.append(m)
        taken.append((m.start, m.end))
    return sorted(kept, key=lambda m: (m.start, m.end))


def extend_rule_matches(
    kept: Sequence[PhiMatch], others: Iterable[PhiMatch], rule_sources: frozenset[str]
) -> list[PhiMatch]:
    """Widen each kept rule match (source in ``rule_sources``) to its union with the most probable
    overlapping candidate of ``others`` whose union overlaps no other kept match.

    The widened match takes the label, score and source of the higher-scored of the two (the
    rule's on ties). ``kept`` must not overlap itself; the result does not either, sorted by start.
    """
    out = sorted(kept, key=lambda m: (m.start, m.end))
    pool = sorted(others, key=lambda m: (-m.score, -(m.end - m.start), m.start, m.label))
    for i, rule in enumerate(out):
        if rule.source not in rule_sources:
            continue
        for cand in pool:
            if not (cand.start < rule.end and rule.start < cand.end):
                continue
            start, end = min(cand.start, rule.start), max(cand.end, rule.end)
            if (start, end) == (rule.start, rule.end):
                continue
            if any(start < o.end and o.start < end for j, o in enumerate(out) if j != i):
                continue
            winner = cand if cand.score > rule.score else rule
            out[i] = PhiMatch(start, end, winner.label, winner.score, winner.source)
            break
    return out


class DeidComponent(ErrorHandlingPipe):
    """The ``alia_deid`` pipe. See the module docstring for what it reads and writes."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        spans_key: str,
        languages: Sequence[str],
        min_score: float,
        labels: Sequence[str] | None,
        merge: str = "score",
        model_min_score: float = 0.5,
        capitals_facilities: bool = True,
        model_sex_words: bool = True,
        model_clinical_words: bool = True,
        clinical_eponyms: bool = True,
        reading_values: bool = True,
    ) -> None:
        install_extensions()
        if merge not in MERGE_POLICIES:
            raise AliaClinValueError(
                ErrorCode.E107, value=merge, field="merge", choices=", ".join(MERGE_POLICIES)
            )
        self.name = name
        self.spans_key = spans_key
        self.cfg: dict[str, Any] = {
            "spans_key": spans_key,
            "languages": list(languages),
            "min_score": float(min_score),
            "labels": list(labels) if labels is not None else None,
            "merge": merge,
            "model_min_score": float(model_min_score),
            "capitals_facilities": bool(capitals_facilities),
            "model_sex_words": bool(model_sex_words),
            "model_clinical_words": bool(model_clinical_words),
            "clinical_eponyms": bool(clinical_eponyms),
            "reading_values": bool(reading_values),
        }
        self._rules: RuleEngine | None = None
        self._sources: dict[str, PhiSource] = {}
        self._head: WordTagger | TaggerEnsemble | None = None

    # -- state -------------------------------------------------------------------------------
    @property
    def is_initialized(self) -> bool:
        """Whether the rules are loaded (``initialize()`` or ``from_disk()`` ran)."""
        return self._rules is not None

    def _build_rules(self) -> None:
        self._rules = RuleEngine(
            self.cfg["languages"], min_score=self.cfg["min_score"], labels=self.cfg["labels"]
        )

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Any]] | None = None,
        *,
        nlp: Any = None,
        phi_head: str | None = None,
    ) -> None:
        """Load the rule recognizers for the configured languages, and the PHI head from
        ``phi_head`` (a folder written by ``WordTagger.save`` or ``TaggerEnsemble.save``) when
        given."""
        self._build_rules()
        if phi_head:
            from ..encoder.ensemble import load_tagger

            self.set_head(load_tagger(phi_head))

    @property
    def head(self) -> WordTagger | TaggerEnsemble | None:
        """The PHI head of the model layer, or None (rules only)."""
        return self._head

    def set_head(self, head: WordTagger | TaggerEnsemble | None) -> None:
        """Use ``head`` as the model layer (source ``"model"``); None removes it."""
        self._head = head
        if head is None:
            self._sources.pop(MODEL_SOURCE, None)
            return
        head.eval()
        self.add_source(MODEL_SOURCE, _HeadSource(head, self.name, self.cfg["labels"]))

    def add_source(self, name: str, source: PhiSource) -> None:
        """Plug in another PHI candidate source (e.g. the encoder's PHI head)."""
        self._sources[name] = source

    @property
    def sources(self) -> dict[str, PhiSource]:
        """Every candidate source, the rules first."""
        if self._rules is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        return {"rules": _RuleSource(self._rules), **self._sources}

    # -- processing --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 64) -> Iterator[Doc]:
        """Annotate docs in batches; errors go through spaCy's error handler."""
        sources = self.sources
        rule_sources = frozenset(self._rules.sources) if self._rules is not None else frozenset()
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            try:
                texts = [doc.text for doc in docs]
                per_source = [
                    src.predict_texts(texts) if isinstance(src, _RuleSource) else src.predict(docs)
                    for src in sources.values()
                ]
                for i, doc in enumerate(docs):
                    candidates = [c for preds in per_source for c in preds[i]]
                    candidates = self._checked(candidates, texts[i])
                    revise = self.cfg.get("capitals_facilities", True) and self._sources
                    if revise and any(c.source in FACILITY_SOURCES for c in candidates):
                        candidates = revise_capital_facilities(
                            candidates,
                            texts[i],
                            capital_lines(texts[i]),
                            rule_sources=rule_sources,
                            model_min_score=float(self.cfg.get("model_min_score", 0.5)),
                            trust_model=_model_read_folded(doc),
                        )
                    merged = merge_candidates(
                        candidates,
                        self.cfg.get("merge", "score"),
                        rule_sources=rule_sources,
                        other_min_score=float(self.cfg.get("model_min_score", 0.5)),
                    )
                    self._set_annotations(doc, merged, texts[i])
            except Exception as exc:  # spaCy's error-handler contract
                error_handler(self.name, self, docs, exc)
            yield from docs

    def _checked(self, candidates: list[PhiMatch], text: str) -> list[PhiMatch]:
        """``candidates`` after the checks the config switches on (:mod:`alia_clin.deid.model_checks`)."""
        sex_words = bool(self.cfg.get("model_sex_words", True))
        clinical_words = bool(self.cfg.get("model_clinical_words", True))
        if sex_words or clinical_words:
            candidates = _plausible_model_candidates(
                candidates, text, sex_words=sex_words, clinical_words=clinical_words
            )
        if self.cfg.get("clinical_eponyms", True):
            candidates = _outside_eponyms(candidates, text)
        if self.cfg.get("reading_values", True):
            candidates = _outside_readings(candidates, text)
        return candidates

    def _set_annotations(self, doc: Doc, matches: list[PhiMatch], text: str | None = None) -> None:
        spans = exact_spans(doc, [(m.start, m.end, m.label) for m in matches], text)
        by_offsets = {(m.start, m.end): m for m in matches}
        doc.spans[self.spans_key] = spans
        group = doc.spans[self.spans_key]
        kept = [by_offsets.get((s.start_char, s.end_char)) for s in spans]
        group.attrs["scores"] = [round(m.score, 4) if m else 0.0 for m in kept]
        group.attrs["sources"] = [m.source if m else "" for m in kept]

    # -- spaCy plumbing ----------------------------------------------------------------------
    def score(self, examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
        """Strict span P/R/F on ``doc.spans[spans_key]`` (spaCy's Scorer)."""
        from spacy.scorer import Scorer

        return Scorer.score_spans(examples, attr=self.spans_key, getter=lambda d, k: d.spans.get(k, []))

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        from .head_io import head_to_files

        msg: dict[str, Any] = {"cfg": self.cfg}
        if self._head is not None:
            msg["phi_head"] = head_to_files(self._head)
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> DeidComponent:
        from .head_io import head_from_files

        msg = srsly.msgpack_loads(data)
        self.cfg.update(msg["cfg"])
        self.spans_key = self.cfg["spans_key"]
        self._build_rules()
        self.set_head(head_from_files(msg["phi_head"]) if msg.get("phi_head") else None)
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        srsly.write_json(p / "cfg.json", self.cfg)
        from .head_io import write_head

        write_head(self._head, p / HEAD_DIR)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> DeidComponent:
        self.cfg.update(srsly.read_json(Path(path) / "cfg.json"))
        self.spans_key = self.cfg["spans_key"]
        self._build_rules()
        if (Path(path) / HEAD_DIR).is_dir():
            from ..encoder.ensemble import load_tagger

            self.set_head(load_tagger(Path(path) / HEAD_DIR))
        else:
            self.set_head(None)
        return self


@Language.factory(
    "alia_deid",
    assigns=["doc.spans"],
    default_config={
        "spans_key": "phi",
        "languages": list(DEFAULT_LANGUAGES),
        "min_score": 0.5,
        "labels": None,
        "merge": "score",
        "model_min_score": 0.5,
        "capitals_facilities": True,
        "model_sex_words": True,
        "model_clinical_words": True,
        "clinical_eponyms": True,
        "reading_values": True,
    },
    default_score_weights={"spans_phi_f": 1.0, "spans_phi_p": 0.0, "spans_phi_r": 0.0},
)
def make_deid(
    nlp: Language,
    name: str,
    spans_key: str,
    languages: list[str],
    min_score: float,
    labels: list[str] | None,
    merge: str,
    model_min_score: float,
    capitals_facilities: bool = True,
    model_sex_words: bool = True,
    model_clinical_words: bool = True,
    clinical_eponyms: bool = True,
    reading_values: bool = True,
) -> DeidComponent:
    """Create the ``alia_deid`` pipe (no I/O here: rules load in ``initialize``/``from_disk``).

    ``model_sex_words``: keep a model SEXO_SUJETO_ASISTENCIA candidate only when it is a sex word
    or code; ``model_clinical_words``: drop a model candidate made of clinical words only;
    ``clinical_eponyms``: drop a candidate of any source inside a clinical eponym ("New York
    Heart Association", "Glasgow"); ``reading_values``: drop a number labelled as a name or
    facility that is a measurement's value ("88" of "FC 88"). See the module docstring."""
    return DeidComponent(
        nlp,
        name,
        spans_key=spans_key,
        languages=languages,
        min_score=min_score,
        labels=labels,
        merge=merge,
        model_min_score=model_min_score,
        capitals_facilities=capitals_facilities,
        model_sex_words=model_sex_words,
        model_clinical_words=model_clinical_words,
        clinical_eponyms=clinical_eponyms,
        reading_values=reading_values,
    )

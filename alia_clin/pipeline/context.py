"""``alia_context``: ConText-style assertion of every clinical entity.

Reads ``doc.ents`` and ``doc.spans["nested_entities"]``, tokens, ``doc._.language`` (es / ca /
eu / gl; detected from the text and written when unset, ``default_language`` when the detector
is unsure or the language is not loaded, unless ``language`` forces one) and,
when ``alia_sections`` ran before it, ``doc.spans[sections_key]``. Writes ``span._.assertion``
on every entity: one of ``present``, ``negated``, ``uncertain``, ``historical``,
``hypothetical``, ``family``. A nested entity takes the assertion of the entity it lies in ("no
se inicia perfusión de dobutamina": both negated); one without a container in ``doc.ents`` is
asserted on its own, and so is a test (``negative_results`` below) inside a negated entity ("sin
alteraciones en el *ecocardiograma*": the test was done). Getters ``span._.is_negated``,
``is_uncertain``, ``is_historical``, ``is_hypothetical``, ``is_family`` read it (medspaCy
names). The value is a plain string (msgpack-serializable) and is stored in ``Doc.user_data``,
so ``Doc.to_bytes`` keeps it.

The algorithm is :mod:`alia_clin.context.algorithm` (pre/post/bidirectional triggers,
pseudo-triggers, terminators, sentence limits from a rule-based splitter, a ``max_scope``
window, Basque partitive morphology). Sections imply an assertion (``section_assertions``,
default: family history → ``family``, past history → ``historical``), or for entities of some
labels only (``section_label_assertions``, default: a PROCEDIMIENTO / PROCEDURE in the plan →
``hypothetical``; spaCy merges a config dict with the default, so map a label to ``present`` to
switch it off), that a trigger of higher priority (negated) overrides. ``negative_results``:
what a test-result trigger ("hemocultivo negativo", "negativo para", "se suspende") does to the
entity it reaches — ``"negated"`` (ConText's reading), ``"present"`` (the test was done, the
drug was taken; E3C's event convention) or ``"auto"`` (the default): a test, procedure or event
(an entity labelled as one of ``test_labels``, compared case-insensitively — default
``PROCEDIMIENTO``, ``PROCEDURE`` and ``EVENT``, the E3C/TimeML annotation of an occurrence — or
holding a word of the lexicon's ``test_words``) stays ``present`` because it was done, while
what the test looked for ("PCR negativa para *SARS-CoV-2*") and anything else is ``negated``.

**Learned scope head (optional).** With a :class:`~alia_clin.encoder.scope_head.ScopeHead`
(``initialize(scope_head=DIR)``, :meth:`ContextComponent.set_scope_head`, or ``scope_head/`` in
the component directory, written by ``to_disk``) and an ``alia_encoder`` stage earlier in the
pipeline, the pipe also reads the doc's encoder states (``doc._.alia_states``) and combines the
head's negation/uncertainty scopes with the rule categories by a per-language policy
(:mod:`alia_clin.context.combine`): ``scope_policies`` in the config when set, else the
policies stored with the head (chosen on NUBes dev), else ``rules``. A doc without encoder
states, or a language whose policy is ``rules``, gets exactly the rules' output. Without a
head the stage is rules only and needs no encoder.

Lexicons load in ``initialize()`` (package data ``resources/context/<lang>.json``, or a
``lexicons`` dict ``{lang: data}``) or ``from_disk()`` (``lexicons/<lang>.json`` in the
component directory, written by ``to_disk()``), never in the factory. A pipe that was never
initialized raises ``E001``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import minibatch

from ..context.algorithm import ASSERTIONS, entity_category_sets, resolve
from ..context.combine import check_policy, combine
from ..context.lexicon import ContextLexicon, load_lexicon_data
from ..context.sentences import doc_words, normalize, split_sentences
from ..entities import container_of, nested_entities
from ..errors import AliaClinRuntimeError, AliaClinValueError, ErrorCode, WarningCode, warn
from ..extensions import install_extensions
from ..io.language import doc_language
from .base import ErrorHandlingPipe
from .sections import install_section_extensions

if TYPE_CHECKING:
    from ..encoder.scope_head import ScopeHead

logger = logging.getLogger("alia_clin")

DEFAULT_LANGUAGES = ("es", "ca", "eu", "gl")
DEFAULT_SECTION_ASSERTIONS = {"family_history": "family", "past_history": "historical"}
#: Section → {entity label: assertion}: what a section implies for entities of some labels only. A
#: procedure in the plan is to be done ("Plan: solicitar ecocardiograma"); a drug or a disease
#: named there is not hypothetical ("Plan: se inicia furosemida").
DEFAULT_SECTION_LABEL_ASSERTIONS = {"plan": {"PROCEDIMIENTO": "hypothetical", "PROCEDURE": "hypothetical"}}
#: Settings of ``negative_results`` (see the module docstring).
NEGATIVE_RESULTS = ("auto", "negated", "present")
#: Entity labels whose negative result leaves them present under ``negative_results="auto"``:
#: tests and procedures (they were done), and ``EVENT`` spans (E3C / TimeML events: an event's
#: polarity says whether it happened, and a test with a negative result happened).
DEFAULT_TEST_LABELS = ("PROCEDIMIENTO", "PROCEDURE", "EVENT")
LEXICON_DIR = "lexicons"
#: Folder of the optional scope head inside the component directory.
SCOPE_HEAD_DIR = "scope_head"


def _assertion_getter(value: str) -> Callable[[Span], bool]:
    def getter(span: Span) -> bool:
        return bool(span._.assertion == value)

    return getter


def install_context_extensions() -> None:
    """Register ``Span._.assertion`` and the ``is_*`` getters once (idempotent)."""
    install_extensions()
    install_section_extensions()
    if not Span.has_extension("assertion"):
        Span.set_extension("assertion", default=None)
    for value in ("negated", "uncertain", "historical", "hypothetical", "family"):
        if not Span.has_extension(f"is_{value}"):
            Span.set_extension(f"is_{value}", getter=_assertion_getter(value))


class ContextComponent(ErrorHandlingPipe):
    """The ``alia_context`` pipe. See the module docstring for what it reads and writes."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        languages: list[str],
        default_language: str,
        language: str | None,
        max_scope: int,
        use_sections: bool,
        sections_key: str,
        section_assertions: dict[str, str],
        negative_results: str = "auto",
        scope_policies: dict[str, str] | None = None,
        test_labels: list[str] | None = None,
        section_label_assertions: dict[str, dict[str, str]] | None = None,
    ) -> None:
        install_context_extensions()
        if negative_results not in NEGATIVE_RESULTS:
            raise AliaClinValueError(
                ErrorCode.E107,
                value=negative_results,
                field="negative_results",
                choices=", ".join(NEGATIVE_RESULTS),
            )
        if max_scope < 1:
            raise AliaClinValueError(ErrorCode.E172, field="max_scope", reason="must be at least 1")
        if section_label_assertions is None:
            section_label_assertions = DEFAULT_SECTION_LABEL_ASSERTIONS
        implied = [(f"section_assertions.{k}", v) for k, v in section_assertions.items()] + [
            (f"section_label_assertions.{k}.{label}", v)
            for k, by_label in section_label_assertions.items()
            for label, v in by_label.items()
        ]
        for field, value in implied:
            if value not in ASSERTIONS:
                raise AliaClinValueError(
                    ErrorCode.E107, value=value, field=field, choices=", ".join(ASSERTIONS)
                )
        for lang, policy in (scope_policies or {}).items():
            check_policy(policy, f"scope_policies.{lang}")
        if default_language not in languages or (language is not None and language not in languages):
            raise AliaClinValueError(
                ErrorCode.E172, field="default_language/language", reason="must be one of 'languages'"
            )
        self.name = name
        self.cfg: dict[str, Any] = {
            "languages": list(languages),
            "default_language": default_language,
            "language": language,
            "max_scope": int(max_scope),
            "use_sections": bool(use_sections),
            "sections_key": sections_key,
            "section_assertions": dict(section_assertions),
            "negative_results": negative_results,
            "scope_policies": dict(scope_policies or {}),
            "test_labels": list(DEFAULT_TEST_LABELS if test_labels is None else test_labels),
            "section_label_assertions": {
                k: {str(label).upper(): v for label, v in by_label.items()}
                for k, by_label in section_label_assertions.items()
            },
        }
        self._lexicons: dict[str, ContextLexicon] | None = None
        self._scope_head: ScopeHead | None = None
        self._warned: set[str] = set()

    # -- state -------------------------------------------------------------------------------
    @property
    def is_initialized(self) -> bool:
        """Whether the lexicons are loaded (``initialize()`` or ``from_disk()`` ran)."""
        return self._lexicons is not None

    @property
    def lexicons(self) -> dict[str, ContextLexicon]:
        """Compiled lexicons by language (E001 before ``initialize()``/``from_disk()``)."""
        if self._lexicons is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        return self._lexicons

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Any]] | None = None,
        *,
        nlp: Any = None,
        lexicons: dict[str, dict[str, Any]] | None = None,
        scope_head: str | None = None,
    ) -> None:
        """Load the packaged lexicon of every configured language; ``lexicons`` (``{lang: data}``)
        replaces or adds languages; ``scope_head``: a folder written by ``ScopeHead.save``."""
        data = {lang: load_lexicon_data(lang) for lang in self.cfg["languages"]}
        data.update(lexicons or {})
        self._set_lexicons(data)
        if scope_head:
            from ..encoder.scope_head import ScopeHead

            self.set_scope_head(ScopeHead.load(scope_head))

    @property
    def scope_head(self) -> ScopeHead | None:
        """The learned scope head, or ``None`` (rules only)."""
        return self._scope_head

    def set_scope_head(self, head: ScopeHead | None) -> None:
        """Use ``head`` (put in eval mode) beside the rules; ``None`` removes it."""
        for lang, policy in (head.policies if head is not None else {}).items():
            check_policy(policy, f"scope head policies.{lang}")
        if head is not None:
            head.eval()
        self._scope_head = head

    def policy_for(self, lang: str) -> str:
        """The combination policy used for ``lang``: config override, the head's, else ``rules``."""
        if self._scope_head is None:
            return "rules"
        return str(self.cfg["scope_policies"].get(lang) or self._scope_head.policies.get(lang) or "rules")

    def _language(self, doc: Doc) -> str:
        lang = self.cfg["language"] or doc_language(doc, fallback=self.cfg["default_language"])
        return str(lang if lang in self.lexicons else self.cfg["default_language"])

    def _set_lexicons(self, data: dict[str, dict[str, Any]]) -> None:
        self._lexicons = {lang: ContextLexicon.from_data(d) for lang, d in data.items()}

    def lexicon_for(self, doc: Doc) -> ContextLexicon:
        """The lexicon used for ``doc``: the forced language, else ``doc._.language``, which is
        detected from the text (and set) when the Doc has none; ``default_language`` when unsure."""
        return self.lexicons[self._language(doc)]

    # -- processing --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate docs; errors go through spaCy's error handler."""
        self.lexicons  # noqa: B018  (raises E001 when not initialized)
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            for doc in docs:
                try:
                    self._annotate(doc)
                except Exception as exc:  # spaCy's error-handler contract
                    error_handler(self.name, self, [doc], exc)
            yield from docs

    def _implied(self, doc: Doc, ents: list[Span]) -> list[str | None]:
        key = self.cfg["sections_key"]
        if not self.cfg["use_sections"] or key not in doc.spans or not doc.spans[key]:
            return [None] * len(ents)
        group = doc.spans[key]
        mapping = self.cfg["section_assertions"]
        by_label = self.cfg.get("section_label_assertions", DEFAULT_SECTION_LABEL_ASSERTIONS)
        out: list[str | None] = []
        for ent in ents:
            value = None
            for section in group:
                if section.start_char <= ent.start_char < section.end_char:
                    value = by_label.get(section.label_, {}).get(
                        ent.label_.upper(), mapping.get(section.label_)
                    )
                    break
            out.append(value)
        return out

    def _annotate(self, doc: Doc) -> None:
        ents = list(doc.ents)
        if ents:
            for ent, value in zip(ents, self._assertions(doc, ents), strict=True):
                ent._.assertion = value
        orphans: list[Span] = []
        for span in nested_entities(doc):
            outer = container_of(span, ents)
            if outer is None or (outer._.assertion == "negated" and self._result_leaves_present(doc, span)):
                # A test inside a negated entity is asserted on its own: under "auto" a negative
                # result ("*Broncoaspirado*: microbiología negativa") does not undo the test.
                orphans.append(span)
            else:
                span._.assertion = outer._.assertion
        if orphans:
            for span, value in zip(orphans, self._assertions(doc, orphans), strict=True):
                span._.assertion = value

    def _assertions(self, doc: Doc, ents: list[Span]) -> list[str]:
        """One assertion per span of ``ents`` (non-overlapping, in order)."""
        lexicon = self.lexicon_for(doc)
        words = doc_words(doc)
        word_of_token: dict[int, int] = {w.i: k for k, w in enumerate(words)}
        ranges: list[tuple[int, int]] = []
        for ent in ents:
            ks = [word_of_token[i] for i in range(ent.start, ent.end) if i in word_of_token]
            ranges.append((ks[0], ks[-1] + 1) if ks else (0, 0))
        sets = entity_category_sets(
            lexicon,
            words,
            split_sentences(doc.text, words),
            ranges,
            max_scope=self.cfg["max_scope"],
            implied=self._implied(doc, ents),
            negative_results=self._negative_results(ents, ranges, words, lexicon),
        )
        policy = self.policy_for(self._language(doc))
        if policy != "rules":
            sets = self._combine_with_head(doc, ents, sets, policy)
        return [resolve(cats) for cats in sets]

    def _negative_results(
        self, ents: list[Span], ranges: list[tuple[int, int]], words: list[Any], lexicon: ContextLexicon
    ) -> bool | list[bool]:
        """Whether test-result triggers negate: for all entities, or per entity (``auto``)."""
        setting = self.cfg["negative_results"]
        if setting != "auto":
            return bool(setting == "negated")
        return [
            not self._is_test(ent.label_, (words[k].norm for k in range(ws, we)), lexicon)
            for ent, (ws, we) in zip(ents, ranges, strict=True)
        ]

    def _is_test(self, label: str, norms: Iterable[str], lexicon: ContextLexicon) -> bool:
        """Whether an entity (its label, its normalized words) is a test, procedure or event."""
        labels = {str(name).upper() for name in self.cfg.get("test_labels", DEFAULT_TEST_LABELS)}
        return label.upper() in labels or any(norm in lexicon.test_words for norm in norms)

    def _result_leaves_present(self, doc: Doc, span: Span) -> bool:
        """Whether a negative result leaves ``span`` present (``present``, or ``auto`` and a test)."""
        setting = self.cfg["negative_results"]
        if setting != "auto":
            return bool(setting == "present")
        return self._is_test(span.label_, (normalize(t.text) for t in span), self.lexicon_for(doc))

    def _combine_with_head(
        self, doc: Doc, ents: list[Span], sets: list[set[str]], policy: str
    ) -> list[set[str]]:
        """Rule categories combined with the scope head's decisions (rules only without states)."""
        from ..encoder.scope_head import entity_decisions, sentence_words
        from .encoder import install_state_extension

        head = self._scope_head
        assert head is not None
        install_state_extension()
        encoded = doc._.alia_states  # None when alia_encoder did not run on this doc
        if encoded is None:
            if "no_states" not in self._warned:
                self._warned.add("no_states")
                logger.warning("Pipe '%s': doc without encoder states; scope head skipped", self.name)
            return sets
        expected = head.meta.get("encoder_sha256")
        got = encoded.encoder_sha256
        if expected and got and expected != got and "sha" not in self._warned:
            self._warned.add("sha")
            warn(WarningCode.W720, name=self.name, expected=expected[:12], got=got[:12])
        sentences = sentence_words(doc.text, encoded.words)
        probs = head.probabilities(encoded, sentences)
        spans = [(e.start_char, e.end_char) for e in ents]
        decisions = entity_decisions(probs, encoded.words, sentences, spans, head.threshold)
        return combine(policy, sets, decisions, head.threshold)

    # -- spaCy plumbing ----------------------------------------------------------------------
    def score(self, examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
        """Assertion accuracy over reference entities found with the same offsets in the prediction."""
        total = correct = 0
        for eg in examples:
            pred = {(e.start_char, e.end_char): e._.assertion for e in eg.predicted.ents}
            for ent in eg.reference.ents:
                gold = ent._.assertion or "present"
                got = pred.get((ent.start_char, ent.end_char)) or "present"
                total += 1
                correct += gold == got
        return {"assertion_acc": correct / total if total else None}

    def _data(self) -> dict[str, dict[str, Any]]:
        return {lang: lex.data for lang, lex in self.lexicons.items()}

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        msg: dict[str, Any] = {"cfg": self.cfg, "lexicons": self._data()}
        if self._scope_head is not None:
            with tempfile.TemporaryDirectory() as tmp:
                self._scope_head.save(tmp)
                msg["scope_head"] = {f.name: f.read_bytes() for f in sorted(Path(tmp).iterdir())}
        return srsly.msgpack_dumps(msg)

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> ContextComponent:
        msg = srsly.msgpack_loads(data)
        self.cfg.update(msg["cfg"])
        self._set_lexicons(msg["lexicons"])
        files = msg.get("scope_head")
        if files:
            from ..encoder.scope_head import HEAD_CONFIG, HEAD_WEIGHTS, ScopeHead

            with tempfile.TemporaryDirectory() as tmp:
                for name in (HEAD_CONFIG, HEAD_WEIGHTS):
                    if name not in files:
                        raise AliaClinValueError(ErrorCode.E106, path="<bytes>", reason=f"missing {name}")
                    (Path(tmp) / name).write_bytes(files[name])
                self.set_scope_head(ScopeHead.load(tmp))
        else:
            self.set_scope_head(None)
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        p = Path(path)
        (p / LEXICON_DIR).mkdir(parents=True, exist_ok=True)
        srsly.write_json(p / "cfg.json", self.cfg)
        for lang, data in self._data().items():
            srsly.write_json(p / LEXICON_DIR / f"{lang}.json", data)
        if self._scope_head is not None:
            self._scope_head.save(p / SCOPE_HEAD_DIR)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> ContextComponent:
        p = Path(path)
        self.cfg.update(srsly.read_json(p / "cfg.json"))
        data = {f.stem: srsly.read_json(f) for f in sorted((p / LEXICON_DIR).glob("*.json"))}
        self._set_lexicons(data)
        if (p / SCOPE_HEAD_DIR).is_dir():
            from ..encoder.scope_head import ScopeHead

            self.set_scope_head(ScopeHead.load(p / SCOPE_HEAD_DIR))
        else:
            self.set_scope_head(None)
        return self


@Language.factory(
    "alia_context",
    assigns=["span._.assertion"],
    requires=["doc.ents"],
    default_config={
        "languages": list(DEFAULT_LANGUAGES),
        "default_language": "es",
        "language": None,
        "max_scope": 5,
        "use_sections": True,
        "sections_key": "sections",
        "section_assertions": dict(DEFAULT_SECTION_ASSERTIONS),
        "negative_results": "auto",
        "scope_policies": {},
        "test_labels": list(DEFAULT_TEST_LABELS),
        "section_label_assertions": {k: dict(v) for k, v in DEFAULT_SECTION_LABEL_ASSERTIONS.items()},
    },
    default_score_weights={"assertion_acc": 1.0},
)
def make_context(
    nlp: Language,
    name: str,
    languages: list[str],
    default_language: str,
    language: str | None,
    max_scope: int,
    use_sections: bool,
    sections_key: str,
    section_assertions: dict[str, str],
    negative_results: str,
    scope_policies: dict[str, str],
    test_labels: list[str],
    section_label_assertions: dict[str, dict[str, str]],
) -> ContextComponent:
    """Create the ``alia_context`` pipe (no I/O here: lexicons load in ``initialize``/``from_disk``)."""
    return ContextComponent(
        nlp,
        name,
        languages=languages,
        default_language=default_language,
        language=language,
        max_scope=max_scope,
        use_sections=use_sections,
        sections_key=sections_key,
        section_assertions=section_assertions,
        negative_results=negative_results,
        scope_policies=scope_policies,
        test_labels=test_labels,
        section_label_assertions=section_label_assertions,
    )

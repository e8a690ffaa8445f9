"""``alia_ner``: clinical entities from the shared encoder states.

Reads the word states the ``alia_encoder`` stage left for the doc (``doc._.alia_states``, via
:func:`~alia_clin.pipeline.encoder.get_encoded`; ``E104`` if the encoder did not run). Writes
``doc.ents``: one span per entity, labelled ``ENFERMEDAD``, ``SINTOMA``, ``PROCEDIMIENTO``,
``FARMACO`` (and ``MORFOLOGIA_NEOPLASIA`` when the head knows it), with exactly the character
offsets the head decided (tokens are the encoder's words, so they align; a boundary inside a
token splits it rather than moving the offsets). Entities already in ``doc.ents`` are kept when
``overwrite_ents`` is false (new ones that overlap them are dropped). With
``merge_test_results`` (default on) a test and its result tagged as two entities ("hemocultivos"
PROCEDIMIENTO + "negativos" SINTOMA) become one SINTOMA with the test in
``doc.spans["nested_entities"]`` (:mod:`alia_clin.clinical.results`). First, with
``complete_affixes`` (default on), an entity whose boundary cuts a word at a hyphen takes the
glued rest ("ARA-" → "ARA-II", "COVID" → "COVID-19", "fluorouracilo" → "5-fluorouracilo";
:mod:`alia_clin.clinical.affixes`). Then, with ``label_memory`` (default on) and a label memory
in the component folder (``label_memory.json``, written by ``alia-clin models label-memory``),
an entity whose exact wording (compared in lower case and without accents) nearly always has
another label in the training gold gets that label (:mod:`alia_clin.clinical.label_memory`), and
the memory's wordings (those, and those kept for adding only) whose precision in the training
texts is at least ``memory_min_precision`` (default 0.5) are added as entities where no
entity is yet (never on a token of ``doc.spans["phi"]``); before that, with ``memory_extend``
(default on), an entity that is a proper part of such a wording with its label, sharing its
first or last token, is widened to it ("miocardiopatía dilatada" → "miocardiopatía dilatada no
isquémica"; on CardioCCC train folds, held-out occurrences of those wordings were gold about
90 times as often as such a part was). Adding a mention that is right with
probability p raises strict F1 exactly when p > F1 / 2 (about .37 for the shipped model), so 0.5
keeps a margin; the training-text precision also counts occurrences inside longer gold spans,
which the finder never touches, so it understates the precision where mentions are added.
Last, with ``repair_edges`` (default on), an entity that starts on a continuation word (",
levemente hipertrófico", ": positivos") is joined to the entity right before it, which is kept
nested, function words left at entity edges ("tratamiento con") are trimmed, and an open bracket
is closed (:mod:`alia_clin.clinical.edges`). Then, with ``lab_values`` (default on), a FARMACO
entity directly followed by a concentration value ("potasio 4,2 mEq/l") is removed: it is a lab
result (:mod:`alia_clin.clinical.lab_values`).

The head (:class:`~alia_clin.encoder.heads.WordTagger`, one tag per word, or a
:class:`~alia_clin.encoder.ensemble.TaggerEnsemble` of such heads, whose tag probabilities are
averaged) never comes through the factory: ``initialize(head=DIR)`` or ``set_head()`` provide
it, and ``to_disk`` saves it in the component directory (``head/head.json`` +
``head/head.safetensors``; an ensemble: ``head/ensemble.json`` + ``head/member_<i>/``), which
``from_disk`` reads back. A pipe without a head raises ``E001``.

Entry point (pyproject ``[project.entry-points.spacy_factories]``):
``alia_ner = "alia_clin.pipeline.ner:make_ner"``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans, minibatch

from ..clinical.affixes import complete_glued_affixes
from ..clinical.edges import repair_entity_edges
from ..clinical.lab_values import drop_lab_analytes
from ..clinical.label_memory import MEMORY_FILE, LabelMemory, MemoryFinder
from ..clinical.results import merge_test_results
from ..entities import token_indices
from ..errors import AliaClinRuntimeError, AliaClinValueError, ErrorCode
from ..extensions import install_extensions
from ..io.language import LANGUAGES, detect_language
from .base import ErrorHandlingPipe
from .encoder import get_encoded
from .head_io import head_from_files, head_to_files, write_head
from .spans import exact_spans

if TYPE_CHECKING:
    from ..encoder.ensemble import TaggerEnsemble
    from ..encoder.heads import WordTagger

logger = logging.getLogger("alia_clin")

HEAD_DIR = "head"
CFG_FILE = "cfg.json"
PHI_KEY = "phi"
DEFAULT_LABELS = ("ENFERMEDAD", "SINTOMA", "PROCEDIMIENTO", "FARMACO")
#: Least training-text precision of a memory wording added where nothing was found (see above).
MEMORY_MIN_PRECISION = 0.5



def _note_language(doc: Doc) -> str:
    """``doc._.language`` when set to es/ca/eu/gl, else the language detected from the text (not
    written: ``alia_context`` decides what it writes)."""
    given = doc._.language if doc.has_extension("language") else None
    return given if isinstance(given, str) and given in LANGUAGES else detect_language(doc.text)

class NerComponent(ErrorHandlingPipe):
    """The ``alia_ner`` pipe. See the module docstring for what it reads and writes."""

    def __init__(
        self,
        nlp: Language,
        name: str,
        *,
        labels: Sequence[str] | None,
        min_score: float,
        overwrite_ents: bool,
        save_dtype: str,
        merge_test_results: bool = True,
        label_memory: bool = True,
        memory_min_precision: float = MEMORY_MIN_PRECISION,
        complete_affixes: bool = True,
        repair_edges: bool = True,
        lab_values: bool = True,
        memory_extend: bool = True,
    ) -> None:
        install_extensions()
        if save_dtype not in ("float32", "float16"):
            raise AliaClinValueError(
                ErrorCode.E107, value=save_dtype, field="save_dtype", choices="float32, float16"
            )
        self.name = name
        self.nlp = nlp
        self.cfg: dict[str, Any] = {
            "labels": list(labels) if labels is not None else None,
            "min_score": float(min_score),
            "overwrite_ents": bool(overwrite_ents),
            "save_dtype": save_dtype,
            "merge_test_results": bool(merge_test_results),
            "label_memory": bool(label_memory),
            "memory_min_precision": float(memory_min_precision),
            "complete_affixes": bool(complete_affixes),
            "repair_edges": bool(repair_edges),
            "lab_values": bool(lab_values),
            "memory_extend": bool(memory_extend),
        }
        self._head: WordTagger | TaggerEnsemble | None = None
        self._memory: LabelMemory | None = None
        self._finder: MemoryFinder | None = None

    # -- state -------------------------------------------------------------------------------
    @property
    def is_initialized(self) -> bool:
        """Whether a head is loaded."""
        return self._head is not None

    @property
    def head(self) -> WordTagger | TaggerEnsemble:
        """The entity head; raises ``E001`` before initialization."""
        if self._head is None:
            raise AliaClinRuntimeError(ErrorCode.E001, name=self.name)
        return self._head

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels this pipe writes: the configured ones, else the head's."""
        if self.cfg["labels"] is not None:
            return tuple(self.cfg["labels"])
        return tuple(self._head.labels) if self._head is not None else DEFAULT_LABELS

    def set_head(self, head: WordTagger | TaggerEnsemble) -> None:
        """Use this head (e.g. one just trained); it is put in eval mode."""
        head.eval()
        self._head = head

    @property
    def label_memory(self) -> LabelMemory | None:
        """The label memory applied after decoding (None: none)."""
        return self._memory

    def set_label_memory(self, memory: LabelMemory | None) -> None:
        """Use this label memory (None: none); ``to_disk`` saves it with the head."""
        self._memory = memory
        self._finder = None

    def _memory_finder(self, memory: LabelMemory) -> MemoryFinder:
        """The finder of ``memory``'s precise wordings (built on first use, reset by
        :meth:`set_label_memory`)."""
        if self._finder is None:
            min_precision = self.cfg.get("memory_min_precision", MEMORY_MIN_PRECISION)
            self._finder = MemoryFinder(memory, self.nlp, min_precision)
        return self._finder

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Any]] | None = None,
        *,
        nlp: Language | None = None,
        head: str | None = None,
    ) -> None:
        """Load the head from ``head`` (a folder written by ``WordTagger.save`` or
        ``TaggerEnsemble.save``), set in ``[initialize.components.<name>]``. Raises ``E108``
        without one."""
        if not head:
            raise AliaClinValueError(ErrorCode.E108, name=self.name)
        from ..encoder.ensemble import load_tagger

        self.set_head(load_tagger(head))

    # -- processing --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 64) -> Iterator[Doc]:
        """Tag docs in batches (one head forward per batch); errors go through spaCy's handler."""
        head = self.head
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            try:
                encoded = [get_encoded(doc, reader=self.name) for doc in docs]
                preds = head.predict_many(encoded, [doc.text for doc in docs])
                for doc, spans in zip(docs, preds, strict=True):
                    self._set_annotations(doc, spans)
            except Exception as exc:  # spaCy's error-handler contract
                error_handler(self.name, self, docs, exc)
            yield from docs

    def _set_annotations(self, doc: Doc, spans: Sequence[tuple[int, int, str, float]]) -> None:
        keep = set(self.labels)
        items = [(s, e, lab) for s, e, lab, score in spans if lab in keep and score >= self.cfg["min_score"]]
        existing = (
            [] if self.cfg["overwrite_ents"] else [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        )
        new = exact_spans(doc, items)  # may split tokens: build the kept entities afterwards
        old = exact_spans(doc, existing)  # already on token boundaries: no further split
        ents: list[Span] = list(old)
        taken = [(sp.start, sp.end) for sp in old]
        for sp in filter_spans(new):
            if all(sp.end <= a or b <= sp.start for a, b in taken):
                ents.append(sp)
        doc.ents = sorted(ents, key=lambda sp: sp.start)
        phi_tokens = token_indices(doc.spans.get(PHI_KEY))  # tokens are final from here on
        if self.cfg.get("complete_affixes", True):
            complete_glued_affixes(doc, phi_tokens)
        if self._memory is not None and self.cfg.get("label_memory", True):
            self._memory.relabel(doc)
            finder = self._memory_finder(self._memory)
            mentions = finder.mentions(doc)
            if self.cfg.get("memory_extend", True):
                finder.extend_mentions(doc, phi_tokens, mentions)
            finder.add_mentions(doc, phi_tokens, mentions)
        if self.cfg.get("merge_test_results", True):
            merge_test_results(doc)
        if self.cfg.get("repair_edges", True):
            repair_entity_edges(doc, keep, phi_tokens, _note_language(doc))
        if self.cfg.get("lab_values", True):
            drop_lab_analytes(doc)

    # -- spaCy plumbing ----------------------------------------------------------------------
    def score(self, examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
        """Strict entity P/R/F per label (spaCy's ``Scorer.score_spans`` on ``doc.ents``)."""
        from spacy.scorer import get_ner_prf

        return get_ner_prf(examples)

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        """Write ``cfg.json`` and, with a head, ``head/`` into ``path`` (an earlier ``head/``
        there is replaced, or removed when the pipe has no head)."""
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        srsly.write_json(p / CFG_FILE, self.cfg)
        write_head(self._head, p / HEAD_DIR, dtype=self.cfg["save_dtype"])
        if self._memory is not None:
            srsly.write_json(p / MEMORY_FILE, self._memory.to_dict())
        elif (p / MEMORY_FILE).exists():
            (p / MEMORY_FILE).unlink()

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> NerComponent:
        """Read ``cfg.json`` and the head from ``path`` (a pipe saved without head stays uninitialized)."""
        from ..encoder.ensemble import load_tagger

        p = Path(path)
        if (p / CFG_FILE).is_file():
            self.cfg.update(srsly.read_json(p / CFG_FILE))
        memory = p / MEMORY_FILE
        self.set_label_memory(
            LabelMemory.from_dict(srsly.read_json(memory), path=str(memory)) if memory.is_file() else None
        )
        if (p / HEAD_DIR).is_dir():
            self.set_head(load_tagger(p / HEAD_DIR))
        else:
            logger.warning("Pipe '%s' was saved without a head; it stays uninitialized", self.name)
            self._head = None
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        """``cfg`` and the head's files, packed with msgpack."""
        files = head_to_files(self._head, dtype=self.cfg["save_dtype"]) if self._head is not None else None
        memory = self._memory.to_dict() if self._memory is not None else None
        return srsly.msgpack_dumps({"cfg": self.cfg, "head": files, "memory": memory})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> NerComponent:
        """Inverse of :meth:`to_bytes`."""
        msg = srsly.msgpack_loads(data)
        self.cfg.update(msg["cfg"])
        self._head = head_from_files(msg["head"]) if msg.get("head") else None
        self.set_label_memory(LabelMemory.from_dict(msg["memory"]) if msg.get("memory") else None)
        return self



@Language.factory(
    "alia_ner",
    assigns=["doc.ents", "doc.spans"],
    requires=["doc._.alia_states"],
    default_config={
        "labels": None,
        "min_score": 0.0,
        "overwrite_ents": True,
        "save_dtype": "float32",
        "merge_test_results": True,
        "label_memory": True,
        "memory_min_precision": MEMORY_MIN_PRECISION,
        "complete_affixes": True,
        "repair_edges": True,
        "lab_values": True,
        "memory_extend": True,
    },
    default_score_weights={"ents_f": 1.0, "ents_p": 0.0, "ents_r": 0.0, "ents_per_type": None},
)
def make_ner(
    nlp: Language,
    name: str,
    labels: list[str] | None,
    min_score: float,
    overwrite_ents: bool,
    save_dtype: str,
    merge_test_results: bool,
    label_memory: bool,
    memory_min_precision: float,
    complete_affixes: bool,
    repair_edges: bool,
    lab_values: bool = True,
    memory_extend: bool = True,
) -> NerComponent:
    """Create the ``alia_ner`` pipe (no I/O: the head loads in ``initialize``/``from_disk``).

    ``labels``: labels to write (None: all the head knows); ``min_score``: drop spans whose mean
    word probability is lower; ``overwrite_ents``: replace existing ``doc.ents`` (else keep
    them and add non-overlapping ones); ``save_dtype``: head weights on disk (``float32`` or
    ``float16``); ``merge_test_results``: rewrite a test + result pair as one finding with the
    test nested; ``label_memory``: apply the folder's label memory, if any;
    ``memory_min_precision``: least training-text precision of a memory wording added where
    nothing was found (above 1: none is added); ``complete_affixes``: extend an entity that cuts
    a word at a hyphen over the glued rest; ``repair_edges``: join an entity starting on a
    continuation word to the entity before it, trim function words at entity edges and close an
    open bracket; ``lab_values``: drop a FARMACO entity directly followed by a concentration value
    ("potasio 4,2 mEq/l"); ``memory_extend``: widen an entity that is a proper part of a precise
    memory wording with its label to that wording. See the module docstring.
    """
    return NerComponent(
        nlp,
        name,
        labels=labels,
        min_score=min_score,
        overwrite_ents=overwrite_ents,
        save_dtype=save_dtype,
        merge_test_results=merge_test_results,
        label_memory=label_memory,
        memory_min_precision=memory_min_precision,
        complete_affixes=complete_affixes,
        repair_edges=repair_edges,
        lab_values=lab_values,
        memory_extend=memory_extend,
    )

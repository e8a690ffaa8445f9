"""``alia_measurements``: rule-based clinical measurements (FEVI, NT-proBNP, TA, FC, peso…).

Reads ``doc.text`` only (no encoder, no model). Writes:

* ``doc.spans[spans_key]`` (default ``"measurements"``): one span per measurement, labelled
  with its kind (``LVEF``, ``NT_PROBNP``, ``BNP``, ``BP``, ``SBP`` / ``DBP`` (one pressure
  written alone, "TAS 85 mmHg"), ``HR``, ``RESP_RATE``, ``SPO2``, ``WEIGHT``,
  ``HEIGHT``, ``BMI``, ``CREATININE``, ``EGFR``, ``SODIUM``, ``POTASSIUM``, ``HEMOGLOBIN``,
  ``HBA1C``, ``TEMPERATURE``, ``NYHA``: the functional class, "clase funcional II de la NYHA"),
  with exactly the extractor's character offsets (a boundary
  inside a token splits that token);
* ``doc._.measurements``: a list of dicts (:meth:`Measurement.to_dict`), msgpack-serializable,
  parallel to the spans.

The stage is stateless: ``to_disk``/``from_disk``/``to_bytes``/``from_bytes`` store only its
config. Entry point (pyproject ``[project.entry-points.spacy_factories]``):
``alia_measurements = "alia_clin.pipeline.measurements:make_measurements"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import minibatch

from ..clinical.measurements import LOINC, extract_measurements
from ..errors import AliaClinValueError, ErrorCode
from .base import ErrorHandlingPipe
from .spans import exact_spans

#: The Doc extension this stage writes.
EXTENSION = "measurements"


def install_measurement_extension() -> None:
    """Register ``doc._.measurements`` (default None) once; calling it again is a no-op."""
    if not Doc.has_extension(EXTENSION):
        Doc.set_extension(EXTENSION, default=None)


install_measurement_extension()


class MeasurementsComponent(ErrorHandlingPipe):
    """The ``alia_measurements`` pipe. See the module docstring for what it reads and writes."""

    def __init__(self, nlp: Language, name: str, *, spans_key: str, kinds: Sequence[str] | None) -> None:
        install_measurement_extension()
        if kinds is not None:
            unknown = sorted(set(kinds) - set(LOINC))
            if unknown:
                raise AliaClinValueError(
                    ErrorCode.E107, value=unknown[0], field="kinds", choices=", ".join(sorted(LOINC))
                )
        self.name = name
        self.cfg: dict[str, Any] = {
            "spans_key": spans_key,
            "kinds": list(kinds) if kinds is not None else None,
        }

    @property
    def spans_key(self) -> str:
        """Key of the span group written in ``doc.spans``."""
        return str(self.cfg["spans_key"])

    def initialize(self, get_examples: Callable[[], Iterable[Any]] | None = None, *, nlp: Any = None) -> None:
        """Nothing to load: the rules are code."""

    # -- processing --------------------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        """Annotate docs; errors go through spaCy's error handler."""
        error_handler = self.get_error_handler()
        for batch in minibatch(stream, size=batch_size):
            docs = list(batch)
            try:
                for doc in docs:
                    self._annotate(doc)
            except Exception as exc:  # spaCy's error-handler contract
                error_handler(self.name, self, docs, exc)
            yield from docs

    def _annotate(self, doc: Doc) -> None:
        kinds = self.cfg["kinds"]
        found = [m for m in extract_measurements(doc.text) if kinds is None or m.kind in kinds]
        spans = exact_spans(doc, [(m.start, m.end, m.kind) for m in found])
        by_offsets = {(m.start, m.end): m for m in found}
        kept = [
            by_offsets[(s.start_char, s.end_char)] for s in spans if (s.start_char, s.end_char) in by_offsets
        ]
        doc.spans[self.spans_key] = [s for s in spans if (s.start_char, s.end_char) in by_offsets]
        doc._.set(EXTENSION, [m.to_dict() for m in kept])

    # -- spaCy plumbing ----------------------------------------------------------------------
    def score(self, examples: Iterable[Any], **kwargs: Any) -> dict[str, Any]:
        """Strict span P/R/F on ``doc.spans[spans_key]`` (spaCy's Scorer)."""
        from spacy.scorer import Scorer

        return Scorer.score_spans(examples, attr=self.spans_key, getter=lambda d, k: d.spans.get(k, []))

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps({"cfg": self.cfg})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> MeasurementsComponent:
        self.cfg.update(srsly.msgpack_loads(data)["cfg"])
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        srsly.write_json(p / "cfg.json", self.cfg)

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> MeasurementsComponent:
        cfg_path = Path(path) / "cfg.json"
        if cfg_path.is_file():
            self.cfg.update(srsly.read_json(cfg_path))
        return self



@Language.factory(
    "alia_measurements",
    assigns=["doc.spans", "doc._.measurements"],
    default_config={"spans_key": "measurements", "kinds": None},
    default_score_weights={
        "spans_measurements_f": 1.0,
        "spans_measurements_p": 0.0,
        "spans_measurements_r": 0.0,
    },
)
def make_measurements(
    nlp: Language, name: str, *, spans_key: str, kinds: list[str] | None
) -> MeasurementsComponent:
    """Create the ``alia_measurements`` pipe (no I/O: the rules are code)."""
    return MeasurementsComponent(nlp, name, spans_key=spans_key, kinds=kinds)

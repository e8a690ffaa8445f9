"""The blocking work of each operation: note resource → spaCy Doc → FHIR output.

Runs inside a worker thread (see :mod:`.limits`). Reads the loaded pipeline and the FHIR input;
writes the FHIR output dicts. Holds no per-request state.
"""

from __future__ import annotations

import logging
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from ..errors import ErrorCode
from ..io.folders import NoteRecord
from . import fhir_adapter
from .fhir_adapter import PatientContext
from .outcome import ServiceError, unprocessable
from .settings import ServiceSettings

log = logging.getLogger("alia_clin")


class Engine:
    """The loaded pipeline plus the service's output policy."""

    def __init__(self, nlp: Language, settings: ServiceSettings) -> None:
        self.nlp = nlp
        self.settings = settings
        self._config: fhir_adapter.MappingConfig | None = None

    @property
    def config(self) -> fhir_adapter.MappingConfig:
        """The mapping policy and Device (built on first use: hashing the model takes a moment)."""
        if self._config is None:
            self._config = fhir_adapter.mapping_config(
                self.nlp,
                secret=self.settings.secret,
                operator=self.settings.default_operator,
                version=self.settings.fhir_version,
                conditional_key=self.settings.conditional_key,
            )
        return self._config

    def _doc(self, note: NoteRecord, context: PatientContext | None = None) -> Doc:
        assert note.text is not None
        doc = self.nlp.make_doc(note.text)
        doc._.note_id = note.id
        doc._.patient_id = (context.patient_id() if context is not None else None) or note.patient_id
        doc._.language = note.language
        doc._.note_date = note.date
        return self.nlp(doc)

    def _one_note(self, resource: dict[str, Any]) -> NoteRecord:
        notes = fhir_adapter.notes_from_resource(resource)
        if len(notes) != 1:
            raise unprocessable(f"expected one note, the resource carries {len(notes)}")
        return notes[0]

    def check_operator(self, operator: str | None) -> str:
        """The operator to use: the requested one if the policy allows it, else 422/403."""
        op = operator or self.settings.default_operator
        if op not in self.settings.allowed_operators:
            raise ServiceError(
                403 if op in ("tag", "mask", "redact", "surrogate") else 422,
                ErrorCode.E628,
                "forbidden" if op in ("tag", "mask", "redact", "surrogate") else "value",
                operator=op[:32],
                choices=", ".join(self.settings.allowed_operators),
            )
        if op == "surrogate" and not self.settings.secret:
            raise ServiceError(
                403, ErrorCode.E628, "forbidden", operator=op, choices="surrogate needs a configured secret"
            )
        return op

    def analyze(
        self, resource: dict[str, Any], context: PatientContext | None, *, with_transaction: bool = False
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """``$analyze``: the results as a ``collection`` Bundle, plus the same results as a
        ``transaction`` Bundle for the upstream write when ``with_transaction``."""
        doc = self._doc(self._one_note(resource), context)
        collection = fhir_adapter.analysis_bundle(doc, context, config=self.config, bundle_type="collection")
        transaction = None
        if with_transaction:
            transaction = fhir_adapter.analysis_bundle(
                doc, context, config=self.config, bundle_type="transaction"
            )
        return collection, transaction

    def deidentify(self, resource: dict[str, Any], operator: str) -> dict[str, Any]:
        """``$deidentify``: the de-identified DocumentReference of the note in ``resource``."""
        doc = self._doc(self._one_note(resource))
        return fhir_adapter.deidentified_reference(doc, resource, operator=operator, config=self.config)

"""The one place where the service calls :mod:`alia_clin.fhir` (a late API change there is a
one-file fix here).

Reads FHIR input resources and processed Docs; writes FHIR output dicts. Functions of
``alia_clin.fhir`` used: ``notes_from_resource``, ``doc_to_bundle`` and
``deidentified_document_reference``. Coded ``alia_clin`` errors raised there become 422
OperationOutcomes (their messages carry no note text by contract).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from spacy.tokens import Doc

from ..errors import AliaClinError, ErrorCode
from ..io.folders import NoteRecord
from .outcome import ServiceError, unprocessable


@dataclass(frozen=True)
class PatientContext:
    """Optional patient context of ``$analyze``: a Patient resource, age, sex, Observations."""

    patient: dict[str, Any] | None = None
    age: float | None = None
    sex: str | None = None
    observations: list[dict[str, Any]] = field(default_factory=list)

    def is_empty(self) -> bool:
        """True when the caller gave no context at all."""
        return self.patient is None and self.age is None and self.sex is None and not self.observations


def _fhir() -> Any:
    try:
        return importlib.import_module("alia_clin.fhir")
    except ImportError:
        raise ServiceError(501, ErrorCode.E630, "not-supported", what="alia_clin.fhir is missing") from None


def _function(name: str) -> Any:
    fn = getattr(_fhir(), name, None)
    if fn is None:
        raise ServiceError(501, ErrorCode.E630, "not-supported", what=f"alia_clin.fhir.{name} is missing")
    return fn


def _accepts(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def mapping_available() -> str | None:
    """None when every function the service needs exists, else what is missing."""
    try:
        for name in ("notes_from_resource", "doc_to_bundle", "deidentified_document_reference"):
            _function(name)
    except ServiceError as exc:
        return exc.message
    return None


def notes_from_resource(resource: dict[str, Any]) -> list[NoteRecord]:
    """The notes carried by a DocumentReference / Binary / Bundle (422 on unsupported content)."""
    fn = _function("notes_from_resource")
    try:
        notes: list[NoteRecord] = list(fn(resource))
    except AliaClinError as exc:
        raise unprocessable(f"{exc.code}: unsupported content") from None
    for note in notes:
        if note.error is not None or note.text is None:
            raise unprocessable(f"note {note.id or '?'}: {note.error_code or 'unreadable'}")
    if not notes:
        raise unprocessable("the resource carries no note text")
    return notes


def analysis_bundle(
    doc: Doc, context: PatientContext | None, *, fhir_version: str, bundle_type: str, secret: str | None
) -> dict[str, Any]:
    """The results Bundle of one processed note (``collection`` or ``transaction``)."""
    fn = _function("doc_to_bundle")
    kwargs: dict[str, Any] = {"note_id": doc._.note_id, "version": fhir_version, "bundle_type": bundle_type}
    if context is not None and not context.is_empty():
        kwargs["patient"] = _patient_argument(context)
    if secret is not None and _accepts(fn, "secret"):
        kwargs["secret"] = secret
    try:
        bundle: dict[str, Any] = fn(doc, **kwargs)
    except AliaClinError as exc:
        raise unprocessable(f"{exc.code}: the results could not be mapped") from None
    return bundle


def _patient_argument(context: PatientContext) -> dict[str, Any]:
    """The ``patient`` argument of ``doc_to_bundle``: the Patient resource, plus age/sex/observations."""
    patient: dict[str, Any] = dict(context.patient or {"resourceType": "Patient"})
    if context.sex is not None and "gender" not in patient:
        patient["gender"] = context.sex
    extra: dict[str, Any] = {}
    if context.age is not None:
        extra["age"] = context.age
    if context.observations:
        extra["observations"] = list(context.observations)
    return {**patient, **({"_alia_context": extra} if extra else {})}


def deidentified_reference(
    doc: Doc, *, operator: str, secret: str | None, fhir_version: str
) -> dict[str, Any]:
    """The de-identified DocumentReference of one processed note."""
    fn = _function("deidentified_document_reference")
    kwargs: dict[str, Any] = {"operator": operator}
    if secret is not None and _accepts(fn, "secret"):
        kwargs["secret"] = secret
    if _accepts(fn, "version"):
        kwargs["version"] = fhir_version
    try:
        resource: dict[str, Any] = fn(doc, **kwargs)
    except AliaClinError as exc:
        raise unprocessable(f"{exc.code}: the note could not be de-identified") from None
    return resource

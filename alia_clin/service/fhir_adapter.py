"""The one place where the service calls :mod:`alia_clin.fhir` (a late API change there is a
one-file fix here).

Reads FHIR input resources and processed Docs; writes FHIR output dicts. Functions of
``alia_clin.fhir`` used: ``notes_from_resource``, ``doc_to_bundle``,
``deidentified_document_reference``, ``FhirPolicy`` and ``device_info``. Coded ``alia_clin``
errors raised there become 422 OperationOutcomes (their messages carry no note text by
contract, but the service answers only the code).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from spacy.tokens import Doc

from ..errors import AliaClinError, ErrorCode
from ..io.folders import NoteRecord
from .outcome import ServiceError, unprocessable

_NEEDED = (
    "notes_from_resource",
    "doc_to_bundle",
    "deidentified_document_reference",
    "FhirPolicy",
    "device_info",
)


@dataclass(frozen=True)
class PatientContext:
    """Optional patient context of ``$analyze``: a Patient resource, age, sex, Observations.

    The Patient's id (else its first identifier value) becomes the source patient id that the
    mapping pseudonymizes. Age, sex and Observations are checked and kept for the risk stage;
    the current mapping emits nothing from them.
    """

    patient: dict[str, Any] | None = None
    age: float | None = None
    sex: str | None = None
    observations: list[dict[str, Any]] = field(default_factory=list)

    def patient_id(self) -> str | None:
        """The source patient id carried by the Patient resource, if any."""
        if not self.patient:
            return None
        if isinstance(self.patient.get("id"), str):
            return str(self.patient["id"])
        for ident in self.patient.get("identifier") or []:
            if isinstance(ident, dict) and isinstance(ident.get("value"), str):
                return str(ident["value"])
        return None


@dataclass(frozen=True)
class MappingConfig:
    """What every mapping call of one service needs: policy, device and FHIR version."""

    policy: Any
    device: Any
    version: str


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


def mapping_available() -> str | None:
    """None when every name the service needs exists in alia_clin.fhir, else what is missing."""
    try:
        for name in _NEEDED:
            _function(name)
    except ServiceError as exc:
        return exc.message
    return None


def mapping_config(
    nlp: Any, *, secret: str | None, operator: str, version: str, conditional_key: str = "identifier"
) -> MappingConfig:
    """The policy (pseudonymous ids keyed by ``secret``, text ``operator``, transaction
    ``conditional_key``) and Device of ``nlp``."""
    try:
        policy = _function("FhirPolicy")(secret=secret, operator=operator, conditional_key=conditional_key)
    except AliaClinError as exc:
        raise unprocessable(f"{exc.code}: invalid FHIR policy") from None
    return MappingConfig(policy, _function("device_info")(nlp), version)


def notes_from_resource(resource: dict[str, Any]) -> list[NoteRecord]:
    """The notes carried by a DocumentReference / Binary / Composition / Bundle (422 on unsupported
    content)."""
    fn = _function("notes_from_resource")
    try:
        notes: list[NoteRecord] = list(fn(resource))
    except AliaClinError as exc:
        raise unprocessable(f"{exc.code}: unsupported content") from None
    for i, note in enumerate(notes):
        if note.error is not None or note.text is None:
            raise unprocessable(f"note {i}: {note.error_code or 'unreadable'}")
    if not notes:
        raise unprocessable("the resource carries no note text")
    return notes


def analysis_bundle(
    doc: Doc, context: PatientContext | None, *, config: MappingConfig, bundle_type: str
) -> dict[str, Any]:
    """The results Bundle of one processed note (``collection`` or ``transaction``)."""
    fn = _function("doc_to_bundle")
    patient = context.patient_id() if context is not None else None
    try:
        bundle: dict[str, Any] = fn(
            doc,
            patient=patient,
            version=config.version,
            bundle_type=bundle_type,
            policy=config.policy,
            device=config.device,
        )
    except AliaClinError as exc:
        raise unprocessable(f"{exc.code}: the results could not be mapped") from None
    return bundle


def deidentified_reference(
    doc: Doc, source: dict[str, Any], *, operator: str, config: MappingConfig
) -> dict[str, Any]:
    """The de-identified DocumentReference of one processed note (``source``: the input one)."""
    fn = _function("deidentified_document_reference")
    try:
        resource: dict[str, Any] = fn(
            doc,
            source=source if source.get("resourceType") == "DocumentReference" else None,
            version=config.version,
            policy=config.policy,
            operator=operator,
        )
    except AliaClinError as exc:
        raise unprocessable(f"{exc.code}: the note could not be de-identified") from None
    return resource

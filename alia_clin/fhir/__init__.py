"""HL7 FHIR output and input for alia_clin — the only package that imports ``fhir.resources``.

Stable public API (the service, ``alia-clin process`` and users build on exactly these names):

Output
    :func:`doc_to_bundle` ``(doc, *, patient=None, note_id=None, version="R4"|"R5",
    bundle_type="collection"|"transaction", policy=FhirPolicy(), device=None) -> dict``
        the validated, deterministic Bundle of one processed Doc (DocumentReference with the
        de-identified text, Condition, Observation, FamilyMemberHistory, MedicationStatement,
        Procedure, RiskAssessment, Patient (pseudonymous), Device, Provenance).
    :func:`resources_by_type` ``(bundle) -> dict[str, list[dict]]``
        entry resources grouped by type (Bulk Data NDJSON, one file per type).
    :class:`FhirNdjsonWriter` / :class:`FhirBundleWriter`
        streaming writers for ``--output-format fhir-ndjson`` (``<Type>.ndjson`` files) and
        ``fhir-bundle`` (one ``<note>.json`` Bundle per note); ``write(doc)`` one Doc at a time.
    :func:`deidentified_document_reference` ``(doc, *, source=None, version="R4",
    policy=FhirPolicy(), operator=None) -> dict``
        a de-identified DocumentReference for the service's ``$deidentify``.
    :class:`FhirPolicy`, :data:`DEFAULT_POLICY`
        identity (pseudonymous by default: HMAC-SHA256 of the source id with ``secret``),
        text operator (``tag`` by default), transaction keys, validation.
    :func:`device_info` ``(nlp=None, *, model_dir=None) -> DeviceInfo``
        pipeline name, version and model-directory hashes for the Device resource.
    :func:`validate_resource` / :func:`validate_bundle` ``(obj, version="R4")``
        fhir.resources model validation (R4 via ``fhir.resources.R4B``; R5), E402 on failure.

Input
    :func:`notes_from_resource` ``(resource: dict) -> list[NoteRecord]``
        DocumentReference (inline base64 text/plain, text/html, RTF, CDA, Word or PDF; charset-aware),
        Binary, Composition (a FHIR document's narrative), or a Bundle of them; bad records come
        back with ``error``/``error_code``, never text.
    :func:`iter_ndjson_notes` ``(path, binaries=None) -> Iterator[NoteRecord]``
        a Bulk Data NDJSON export (a DocumentReference / Composition ``.ndjson`` file or a folder);
        attachments inline or as a ``url`` to a Binary of the same export.

Error codes E400–E408 (:mod:`alia_clin.errors`), warning W400.
"""

from __future__ import annotations

from .bundle import BUNDLE_TYPES, doc_to_bundle, resources_by_type
from .deidentify import deidentified_document_reference
from .device import DeviceInfo, device_info, hash_directory
from .policy import DEFAULT_POLICY, FhirPolicy
from .reader import SUPPORTED_CONTENT_TYPES, iter_ndjson_notes, notes_from_resource
from .validate import VERSIONS, validate_bundle, validate_resource
from .writers import FhirBundleWriter, FhirNdjsonWriter

__all__ = [
    "BUNDLE_TYPES",
    "DEFAULT_POLICY",
    "SUPPORTED_CONTENT_TYPES",
    "VERSIONS",
    "DeviceInfo",
    "FhirBundleWriter",
    "FhirNdjsonWriter",
    "FhirPolicy",
    "deidentified_document_reference",
    "device_info",
    "doc_to_bundle",
    "hash_directory",
    "iter_ndjson_notes",
    "notes_from_resource",
    "resources_by_type",
    "validate_bundle",
    "validate_resource",
]

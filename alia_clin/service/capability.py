"""The service's CapabilityStatement and the OperationDefinitions of its operations.

Reads the settings (FHIR version, auth kinds, operators); writes JSON-able dicts. The
definitions are the contract clients code against: keep them in step with :mod:`.inputs`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from .. import __version__
from .settings import ServiceSettings

CANONICAL_BASE = "https://alia-clin.org/fhir/OperationDefinition"
_FHIR_VERSIONS = {"R4": "4.0.1", "R5": "5.0.0"}


def _param(name: str, use: str, min_: int, max_: str, type_: str, documentation: str) -> dict[str, Any]:
    return {"name": name, "use": use, "min": min_, "max": max_, "type": type_, "documentation": documentation}


def operation_definitions(settings: ServiceSettings) -> dict[str, dict[str, Any]]:
    """The OperationDefinitions by id (``analyze``, ``deidentify``)."""
    common = {
        "resourceType": "OperationDefinition",
        "version": __version__,
        "status": "active",
        "kind": "operation",
        "affectsState": settings.fhir_upstream is not None,
        "system": False,
        "type": True,
        "instance": False,
        "resource": ["DocumentReference"],
    }
    document = _param(
        "document",
        "in",
        1,
        "1",
        "Resource",
        "The clinical note: a DocumentReference with a text/plain, text/html, RTF, HL7 CDA, Word (.docx) "
        "or PDF attachment "
        "(data in base64). "
        "A Binary, a Composition (the narrative of a FHIR document) or a Bundle of them is read too. "
        "The body may also be that resource itself instead of Parameters.",
    )
    analyze = {
        **common,
        "id": "analyze",
        "url": f"{CANONICAL_BASE}/analyze",
        "name": "Analyze",
        "title": "Extract clinical facts from a note",
        "description": "De-identifies the note and extracts diagnoses, symptoms, measurements, drugs, "
        "procedures (with negation and other assertions) and returns them as FHIR resources.",
        "code": "analyze",
        "parameter": [
            document,
            _param("patient", "in", 0, "1", "Patient", "Patient context for the results."),
            _param("age", "in", 0, "1", "Age", "Age in years (valueInteger, valueDecimal or valueAge)."),
            _param("sex", "in", 0, "1", "code", "Administrative sex: male | female | other | unknown."),
            _param("observation", "in", 0, "*", "Observation", "Structured observations of the patient."),
            _param("return", "out", 1, "1", "Bundle", "A collection Bundle of the results."),
        ],
    }
    operators = ", ".join(settings.allowed_operators)
    deidentify = {
        **common,
        "affectsState": False,
        "id": "deidentify",
        "url": f"{CANONICAL_BASE}/deidentify",
        "name": "Deidentify",
        "title": "De-identify a note",
        "description": f"Returns the DocumentReference with its text de-identified. Operators: {operators}.",
        "code": "deidentify",
        "parameter": [
            document,
            _param(
                "operator",
                "in",
                0,
                "1",
                "code",
                f"tag | mask | redact | surrogate (allowed here: {operators}; default "
                f"{settings.default_operator}). Also accepted as the query parameter ?operator=.",
            ),
            _param("return", "out", 1, "1", "DocumentReference", "The de-identified DocumentReference."),
        ],
    }
    return {"analyze": analyze, "deidentify": deidentify}


def capability_statement(settings: ServiceSettings) -> dict[str, Any]:
    """The CapabilityStatement answered at ``GET /fhir/metadata``."""
    services: list[dict[str, Any]] = []
    if settings.api_keys:
        services.append({"text": "Bearer API key"})
    if settings.jwks_file is not None:
        services.append(
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ],
                "text": "JWT bearer token, SMART system scopes",
            }
        )
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kind": "instance",
        "software": {"name": "alia-clin", "version": __version__},
        "implementation": {"description": "alia_clin FHIR integration service"},
        "fhirVersion": _FHIR_VERSIONS[settings.fhir_version],
        "format": ["application/fhir+json", "json"],
        "rest": [
            {
                "mode": "server",
                "security": {"cors": bool(settings.cors_origins), "service": services},
                "resource": [
                    {
                        "type": "DocumentReference",
                        "operation": [
                            {"name": op_id, "definition": definition["url"]}
                            for op_id, definition in operation_definitions(settings).items()
                        ],
                    },
                    {"type": "OperationDefinition", "interaction": [{"code": "read"}]},
                ],
                "interaction": [{"code": "batch"}, {"code": "transaction"}],
            }
        ],
    }

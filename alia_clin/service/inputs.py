"""Parse and check the FHIR input of the operations (before any NLP runs).

Reads the decoded JSON body; returns the note-carrying resource plus the operation's
parameters. Anything that is valid JSON but not acceptable FHIR for the operation is a 422
OperationOutcome naming the offending element (never its content).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .fhir_adapter import PatientContext
from .outcome import unprocessable

NOTE_RESOURCES = ("DocumentReference", "Binary", "Composition", "Bundle")
_SEXES = ("male", "female", "other", "unknown")


@dataclass(frozen=True)
class AnalyzeInput:
    """What ``$analyze`` received: the note resource and the optional patient context."""

    resource: dict[str, Any]
    context: PatientContext


@dataclass(frozen=True)
class DeidentifyInput:
    """What ``$deidentify`` received: the note resource and the requested operator (or None)."""

    resource: dict[str, Any]
    operator: str | None


def _resource_type(body: object) -> str:
    if not isinstance(body, dict):
        raise unprocessable("the body is not a FHIR resource (a JSON object)")
    rtype = body.get("resourceType")
    if not isinstance(rtype, str):
        raise unprocessable("the body has no resourceType", expression="resourceType")
    return rtype


def _parameters(body: dict[str, Any]) -> list[dict[str, Any]]:
    params = body.get("parameter", [])
    if not isinstance(params, list) or not all(isinstance(p, dict) for p in params):
        raise unprocessable(
            "Parameters.parameter must be a list of objects", expression="Parameters.parameter"
        )
    for i, p in enumerate(params):
        if not isinstance(p.get("name"), str):
            raise unprocessable("a parameter has no name", expression=f"Parameters.parameter[{i}].name")
    return params


def _only(params: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    found = [p for p in params if p["name"] == name]
    if len(found) > 1:
        raise unprocessable(f"parameter '{name}' given more than once", expression=f"Parameters.{name}")
    return found[0] if found else None


def _document(params: list[dict[str, Any]]) -> dict[str, Any]:
    part = _only(params, "document")
    if part is None:
        raise unprocessable("parameter 'document' is required", expression="Parameters.document")
    resource = part.get("resource")
    if not isinstance(resource, dict) or resource.get("resourceType") not in NOTE_RESOURCES:
        raise unprocessable(
            "parameter 'document' must carry a DocumentReference, Binary, Composition or Bundle resource",
            expression="Parameters.document",
        )
    return resource


def note_resource(body: object) -> dict[str, Any]:
    """Check that ``body`` is a DocumentReference (or Binary / Composition / Bundle) and return it."""
    rtype = _resource_type(body)
    if rtype not in NOTE_RESOURCES:
        raise unprocessable(
            "this resource type is not accepted here "
            "(DocumentReference, Binary, Composition, Bundle or Parameters)",
            expression="resourceType",
        )
    assert isinstance(body, dict)
    return body


def _age(part: dict[str, Any]) -> float:
    value = part.get("valueInteger", part.get("valueDecimal"))
    if value is None and isinstance(part.get("valueAge"), dict):
        age = part["valueAge"]
        if age.get("code", "a") != "a":
            raise unprocessable("valueAge must be in years (UCUM 'a')", expression="Parameters.age")
        value = age.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 150:
        raise unprocessable("'age' must be a number of years in [0, 150]", expression="Parameters.age")
    return float(value)


def parse_analyze(body: object) -> AnalyzeInput:
    """A DocumentReference, or Parameters(document, patient?, age?, sex?, observation*)."""
    if _resource_type(body) != "Parameters":
        return AnalyzeInput(note_resource(body), PatientContext())
    assert isinstance(body, dict)
    params = _parameters(body)
    document = _document(params)
    patient = None
    if (part := _only(params, "patient")) is not None:
        patient = part.get("resource")
        if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
            raise unprocessable("parameter 'patient' must carry a Patient", expression="Parameters.patient")
    age = _age(part) if (part := _only(params, "age")) is not None else None
    sex = None
    if (part := _only(params, "sex")) is not None:
        sex = part.get("valueCode")
        if sex not in _SEXES:
            raise unprocessable(f"'sex' must be one of {', '.join(_SEXES)}", expression="Parameters.sex")
    observations = []
    for i, p in enumerate(q for q in params if q["name"] == "observation"):
        res = p.get("resource")
        if not isinstance(res, dict) or res.get("resourceType") != "Observation":
            raise unprocessable(
                "parameter 'observation' must carry an Observation", expression=f"Parameters.observation[{i}]"
            )
        observations.append(res)
    return AnalyzeInput(document, PatientContext(patient, age, sex, observations))


def parse_deidentify(body: object, query_operator: str | None) -> DeidentifyInput:
    """A DocumentReference, or Parameters(document, operator?); ``?operator=`` also works."""
    if _resource_type(body) != "Parameters":
        return DeidentifyInput(note_resource(body), query_operator)
    assert isinstance(body, dict)
    params = _parameters(body)
    document = _document(params)
    operator = query_operator
    if (part := _only(params, "operator")) is not None:
        operator = part.get("valueCode", part.get("valueString"))
        if not isinstance(operator, str):
            raise unprocessable("'operator' must be a code", expression="Parameters.operator")
    return DeidentifyInput(document, operator)

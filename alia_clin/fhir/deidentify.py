"""A de-identified DocumentReference for the service's ``$deidentify`` operation.

Reads a processed Doc (``doc.text``, ``doc.spans["phi"]``, ``doc._.note_id``/``patient_id``/
``language``/``note_date``) and optionally the source DocumentReference; writes nothing.
Returns a validated DocumentReference dict whose attachment holds the de-identified text and
whose subject is a *logical* reference to the (pseudonymous by default) patient identifier.
From the source only coded, non-identifying elements are carried over: ``status``,
``docStatus``, and the codings of ``type`` and ``category`` (their free ``text`` is dropped);
everything else (authors, custodian, free-text
descriptions, other attachments) is dropped.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from spacy.tokens import Doc

from .bundle import document_reference
from .policy import DEFAULT_POLICY, FhirPolicy, keys_for
from .text import deidentify_for_fhir
from .validate import check_version, validate_resource


def _codings_only(concept: Any) -> dict[str, Any] | None:
    """A CodeableConcept reduced to its codings (``text`` is free text: dropped)."""
    if not isinstance(concept, dict):
        return None
    codings = [
        {k: c[k] for k in ("system", "code", "display") if isinstance(c.get(k), str)}
        for c in concept.get("coding") or []
        if isinstance(c, dict) and c.get("code")
    ]
    return {"coding": codings} if codings else None


def deidentified_document_reference(
    doc: Doc,
    *,
    source: dict[str, Any] | None = None,
    version: str = "R4",
    policy: FhirPolicy = DEFAULT_POLICY,
    operator: str | None = None,
    patient: str | None = None,
    note_id: str | None = None,
) -> dict[str, Any]:
    """The de-identified DocumentReference of ``doc`` (``operator`` overrides the policy's)."""
    check_version(version)
    if operator is not None and operator != policy.operator:
        policy = dataclasses.replace(policy, operator=operator)
    deid = deidentify_for_fhir(doc, policy)
    keys = keys_for(
        policy,
        note_id=note_id if note_id is not None else doc._.note_id,
        patient_id=patient if patient is not None else doc._.patient_id,
        deidentified_text=deid.text,
    )
    system, value = keys.patient_identifier
    res = document_reference(
        deid,
        keys,
        patient_ref={"identifier": {"system": system, "value": value}},
        language=doc._.language,
        note_date=str(doc._.note_date) if doc._.note_date else None,
        version=version,
    )
    if source:
        for key in ("status", "docStatus"):
            if isinstance(source.get(key), str):
                res[key] = source[key]
        if _codings_only(source.get("type")):
            res["type"] = _codings_only(source.get("type"))
        categories = [c for c in (_codings_only(x) for x in source.get("category") or []) if c]
        if categories:
            res["category"] = categories
    if policy.validate:
        validate_resource(res, version)
    return res

"""Build the FHIR Bundle of one processed Doc.

Reads the Doc (text, ``doc.spans["phi"]``, ``doc.ents``, nested entities, measurements,
heart-failure risk, ``doc._.note_id``/``patient_id``/``language``/``note_date``); writes nothing
to it. Returns a JSON-ready dict that validated with the fhir.resources models (unless the
policy turns that off). The same Doc, arguments and policy always give the same bundle: ids are
uuid5 over stable keys, nothing depends on the clock.

Entry order: Patient, Device, DocumentReference, extracted resources (entities and
measurements by offset), RiskAssessment (with any evidence Observations), Provenance.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Literal

from spacy.tokens import Doc

from ..errors import AliaClinValueError, ErrorCode
from .device import DeviceInfo, device_info, device_resource, provenance_resource
from .ids import KEY_TAG_SYSTEM, LOINC, V3_OBSERVATION_VALUE, stable_uuid, urn
from .mapping import Built, Context, entity_resources, measurement_resources, risk_resources
from .policy import DEFAULT_POLICY, RESOURCE_KEY_SYSTEM, FhirPolicy, NoteKeys, keys_for
from .text import DeidNote, deidentify_for_fhir
from .validate import check_version, validate_bundle

BundleType = Literal["collection", "transaction"]
BUNDLE_TYPES = ("collection", "transaction")
#: LOINC 34109-9 "Note": the generic clinical note document type.
NOTE_TYPE = {"system": LOINC, "code": "34109-9", "display": "Note"}
PSEUDED = {"system": V3_OBSERVATION_VALUE, "code": "PSEUDED", "display": "pseudonymized"}
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


def patient_resource(keys: NoteKeys, policy: FhirPolicy) -> dict[str, Any]:
    """The subject Patient: only the (pseudonymous or, if configured, real) identifier."""
    res: dict[str, Any] = {
        "resourceType": "Patient",
        "id": stable_uuid("Patient", keys.patient_key),
        "identifier": [{"system": keys.patient_identifier[0], "value": keys.patient_identifier[1]}],
    }
    if policy.identity == "pseudonymous":
        res["meta"] = {"security": [PSEUDED]}
    return res


def document_reference(
    deid: DeidNote,
    keys: NoteKeys,
    *,
    patient_ref: dict[str, Any],
    language: str | None,
    note_date: str | None,
    version: str,
) -> dict[str, Any]:
    """The DocumentReference carrying the de-identified text (base64 UTF-8) as its attachment."""
    data = deid.text.encode("utf-8")
    rid = stable_uuid(keys.note_key, "DocumentReference")
    attachment: dict[str, Any] = {"contentType": TEXT_CONTENT_TYPE}
    if language:
        attachment["language"] = language
    attachment["data"] = base64.b64encode(data).decode("ascii")
    attachment["hash"] = base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
    res: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": rid,
        "identifier": [
            {"system": RESOURCE_KEY_SYSTEM, "value": rid},
            {"system": keys.note_identifier[0], "value": keys.note_identifier[1]},
        ],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [NOTE_TYPE]},
        "subject": patient_ref,
        "securityLabel": [{"coding": [PSEUDED]}],
        "content": [{"attachment": attachment}],
    }
    if note_date:
        if version == "R4":
            res["context"] = {"period": {"start": note_date}}
        else:
            res["period"] = {"start": note_date}
    return res


def _recorded(policy: FhirPolicy, note_date: str | None) -> str:
    if policy.recorded:
        return policy.recorded
    if note_date and len(note_date) == 10:
        return f"{note_date}T00:00:00Z"
    if note_date and "T" in note_date:
        return note_date
    return "1970-01-01T00:00:00Z"


def _note_date(doc: Doc) -> str | None:
    value = doc._.note_date
    return str(value) if value else None


def _entry(resource: dict[str, Any], bundle_type: str, policy: FhirPolicy) -> dict[str, Any]:
    rid = resource["id"]
    entry: dict[str, Any] = {"fullUrl": urn(rid)}
    if bundle_type == "transaction":
        res = {k: v for k, v in resource.items() if k != "id"}
        rtype = res["resourceType"]
        if rtype == "Provenance" or policy.conditional_key == "tag":
            meta = dict(res.get("meta") or {})
            tags = [t for t in meta.get("tag", []) if t.get("system") != KEY_TAG_SYSTEM]
            meta["tag"] = [*tags, {"system": KEY_TAG_SYSTEM, "code": rid}]
            res["meta"] = meta
            query = f"_tag={KEY_TAG_SYSTEM}|{rid}"
        else:
            ident = res["identifier"][0]
            query = f"identifier={ident['system']}|{ident['value']}"
        entry["resource"] = res
        entry["request"] = {"method": "POST", "url": rtype, "ifNoneExist": query}
    else:
        entry["resource"] = resource
    return entry


def doc_to_bundle(
    doc: Doc,
    *,
    patient: str | None = None,
    note_id: str | None = None,
    version: str = "R4",
    bundle_type: BundleType = "collection",
    policy: FhirPolicy = DEFAULT_POLICY,
    device: DeviceInfo | None = None,
) -> dict[str, Any]:
    """The FHIR Bundle (JSON-ready dict) of one processed Doc.

    ``patient``/``note_id``: the source patient and note ids (default ``doc._.patient_id`` /
    ``doc._.note_id``), used only as the policy allows (pseudonymized by default);
    ``version``: ``"R4"`` (wire format of R4, validated with ``fhir.resources.R4B``) or ``"R5"``;
    ``bundle_type``: ``"collection"`` or ``"transaction"`` (POST entries with ``ifNoneExist`` on
    stable keys: re-sending a note creates no duplicates); ``device``: the producing pipeline
    (:func:`alia_clin.fhir.device_info`; default: the library alone, without model hashes).
    Raises E401 (version), E400 (bundle type), E402 (a resource failed validation).
    """
    check_version(version)
    if bundle_type not in BUNDLE_TYPES:
        raise AliaClinValueError(
            ErrorCode.E400, field="bundle_type", reason="use 'collection' or 'transaction'"
        )
    deid = deidentify_for_fhir(doc, policy)
    keys = keys_for(
        policy,
        note_id=note_id if note_id is not None else doc._.note_id,
        patient_id=patient if patient is not None else doc._.patient_id,
        deidentified_text=deid.text,
    )
    note_date = _note_date(doc)
    pat = patient_resource(keys, policy)
    docref = document_reference(
        deid,
        keys,
        patient_ref={"reference": urn(pat["id"])},
        language=doc._.language,
        note_date=note_date,
        version=version,
    )
    ctx = Context(version, policy, keys.note_key, deid, urn(pat["id"]), urn(docref["id"]), note_date)
    extracted: list[Built] = entity_resources(ctx, doc) + measurement_resources(ctx, doc)
    extracted.sort(key=lambda b: (b.span or (0, 0), b.resource["resourceType"], b.resource["id"]))
    extracted += risk_resources(ctx, doc, extracted)
    dev = device_resource(device or device_info(None), version)
    resources = [pat, dev, docref] + [b.resource for b in extracted]
    prov = provenance_resource(
        note_key=keys.note_key,
        targets=[urn(docref["id"])] + [urn(b.resource["id"]) for b in extracted],
        source=urn(docref["id"]),
        device_id=dev["id"],
        recorded=_recorded(policy, note_date),
        version=version,
    )
    resources.append(prov)
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": stable_uuid(keys.note_key, "Bundle", bundle_type, version),
        "type": bundle_type,
        "entry": [_entry(r, bundle_type, policy) for r in resources],
    }
    if policy.validate:
        validate_bundle(bundle, version)
    return bundle


def resources_by_type(bundle: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Group the entry resources of ``bundle`` by resourceType (entry order kept; not copied).

    For Bulk Data NDJSON (one file per type). Transaction entries have no ``id`` (the server
    assigns it); use a collection bundle when ids are needed.
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for entry in bundle.get("entry") or []:
        res = entry.get("resource")
        if isinstance(res, dict) and res.get("resourceType"):
            out.setdefault(str(res["resourceType"]), []).append(res)
    return out

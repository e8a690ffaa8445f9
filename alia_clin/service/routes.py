"""The service's HTTP routes.

Each POST route checks, in order: bearer token (401) and scope (403), media type (415), body
size (413), JSON (400), FHIR shape (422), readiness (503), capacity (429), then runs the NLP in
a worker thread with a timeout (503). Reads request bodies; writes FHIR JSON responses.
"""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import JSONResponse

from .. import __version__
from ..errors import ErrorCode
from .app import FhirResponse, ServiceState
from .auth import Principal, require_scope
from .batch import parse_batch, run_batch
from .capability import capability_statement, operation_definitions
from .engine import Engine
from .inputs import parse_analyze, parse_deidentify
from .limits import read_limited_body
from .outcome import ServiceError, outcome

router = APIRouter()
_bearer = HTTPBearer(auto_error=False, description="API key or JWT with SMART system scopes")
_MEDIA_TYPES = ("application/fhir+json", "application/json")
_RESOURCE = "DocumentReference"
_ATTACHMENT = {
    "type": "object",
    "properties": {
        "contentType": {"type": "string"},
        "language": {"type": "string"},
        "data": {"type": "string"},
    },
}
_RESOURCE_SCHEMA = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {
        "resourceType": {
            "type": "string",
            "enum": ["DocumentReference", "Binary", "Composition", "Bundle", "Parameters", "Patient"],
        },
        "id": {"type": "string"},
        "content": {"type": "array", "items": {"type": "object", "properties": {"attachment": _ATTACHMENT}}},
        "contentType": {"type": "string"},
        "data": {"type": "string"},
        "type": {"type": "string", "enum": ["batch", "transaction", "collection", "document"]},
        "entry": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "request": {
                        "type": "object",
                        "properties": {"method": {"type": "string"}, "url": {"type": "string"}},
                    },
                    "resource": {"type": "object"},
                },
            },
        },
        "parameter": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "resource": {"type": "object"},
                    "valueCode": {"type": "string"},
                    "valueInteger": {"type": "integer"},
                },
            },
        },
    },
}
_FHIR_BODY = {
    "requestBody": {
        "required": True,
        "content": {media: {"schema": _RESOURCE_SCHEMA} for media in _MEDIA_TYPES},
    }
}


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.alia
    return state


def _principal(
    request: Request, _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    return _state(request).auth.authenticate(request.headers.get("authorization"))


Caller = Annotated[Principal, Depends(_principal)]


def _require(request: Request, principal: Principal, *, write_if_upstream: bool) -> None:
    require_scope(principal, _RESOURCE, "read")
    if write_if_upstream and _state(request).upstream is not None:
        require_scope(principal, _RESOURCE, "write")


async def _fhir_json(request: Request) -> Any:
    """The decoded JSON body (415 / 413 / 400 as OperationOutcomes)."""
    raw_type = request.headers.get("content-type", "")
    media, _, params = raw_type.partition(";")
    media = media.strip().lower()
    charset = (
        params.strip().lower().removeprefix("charset=").strip('"') if "charset=" in params.lower() else ""
    )
    if media not in _MEDIA_TYPES or charset not in ("", "utf-8", "utf8"):
        raise ServiceError(415, ErrorCode.E621, "not-supported", media_type=raw_type[:64] or "none")
    body = await read_limited_body(request, _state(request).settings.max_body_bytes)
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise ServiceError(400, ErrorCode.E622, "structure", reason="not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ServiceError(
            400, ErrorCode.E622, "structure", reason=f"line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ServiceError(400, ErrorCode.E622, "structure", reason="nested too deeply") from None


def _engine(request: Request) -> Engine:
    state = _state(request)
    if state.engine is None:
        raise ServiceError(503, ErrorCode.E626, "transient", headers={"Retry-After": "5"})
    return state.engine


# ------------------------------------------------------------------------------------ health


@router.get("/healthz", response_class=JSONResponse, tags=["health"])
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz", response_class=JSONResponse, tags=["health"])
async def readyz(request: Request) -> JSONResponse:
    """Readiness: 200 once the model is loaded, 503 (OperationOutcome) before."""
    state = _state(request)
    if state.engine is None:
        err = ServiceError(503, ErrorCode.E626, "transient", headers={"Retry-After": "5"})
        body = err.to_outcome()
        if state.load_error:
            body["issue"][0]["diagnostics"] += f" Model load failed ({state.load_error})."
        return FhirResponse(body, status_code=503, headers=err.headers)
    nlp = state.engine.nlp
    return JSONResponse(
        {
            "status": "ready",
            "model": nlp.meta.get("name"),
            "pipes": nlp.pipe_names,
            "admitted": state.pool.admitted,
            "capacity": state.pool.capacity,
        }
    )


# ------------------------------------------------------------------------------------ metadata


async def _metadata_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    if _state(request).settings.public_metadata:
        return None
    return _principal(request, credentials)


@router.get("/fhir/metadata", tags=["fhir"])
async def metadata(
    request: Request, _caller: Annotated[Principal | None, Depends(_metadata_principal)]
) -> FhirResponse:
    """The CapabilityStatement, declaring ``$analyze`` and ``$deidentify``."""
    return FhirResponse(capability_statement(_state(request).settings))


@router.get("/fhir/OperationDefinition/{op_id}", tags=["fhir"])
async def operation_definition(request: Request, op_id: str, _caller: Caller) -> FhirResponse:
    """One OperationDefinition by id (``analyze``, ``deidentify``)."""
    definition = operation_definitions(_state(request).settings).get(op_id)
    if definition is None:
        body = outcome("error", "not-found", "[E629] Unknown OperationDefinition.", code="E629")
        return FhirResponse(body, status_code=404)
    return FhirResponse(definition)


# ------------------------------------------------------------------------------------ operations


def _with_upstream_status(bundle: dict[str, Any], issue: dict[str, Any], status: str) -> dict[str, Any]:
    tag = {"system": "https://alia-clin.org/fhir/CodeSystem/upstream-status", "code": status}
    meta = dict(bundle.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), tag]
    entry = {
        "fullUrl": f"urn:uuid:{uuid.uuid4()}",
        "resource": {"resourceType": "OperationOutcome", "issue": [issue]},
    }
    return {**bundle, "meta": meta, "entry": [*bundle.get("entry", []), entry]}


@router.post("/fhir/DocumentReference/$analyze", tags=["fhir"], openapi_extra=_FHIR_BODY)
async def analyze(request: Request, caller: Caller) -> FhirResponse:
    """``$analyze``: a DocumentReference (or Parameters) in, a Bundle of the results out."""
    _require(request, caller, write_if_upstream=True)
    parsed = parse_analyze(await _fhir_json(request))
    engine = _engine(request)
    state = _state(request)
    upstream = state.upstream
    collection, transaction = await state.pool.run(
        lambda: engine.analyze(parsed.resource, parsed.context, with_transaction=upstream is not None)
    )
    headers: dict[str, str] = {}
    if upstream is not None and transaction is not None:
        result = await upstream.write(transaction)
        collection = _with_upstream_status(collection, result.issue(), result.status)
        headers["X-Alia-Upstream"] = result.header()
    return FhirResponse(collection, headers=headers)


@router.post("/fhir/DocumentReference/$deidentify", tags=["fhir"], openapi_extra=_FHIR_BODY)
async def deidentify(
    request: Request,
    caller: Caller,
    operator: Annotated[
        str | None, Query(max_length=32, description="tag, mask, redact or surrogate")
    ] = None,
) -> FhirResponse:
    """``$deidentify``: the DocumentReference with its text de-identified."""
    _require(request, caller, write_if_upstream=False)
    parsed = parse_deidentify(await _fhir_json(request), operator)
    engine = _engine(request)
    op = engine.check_operator(parsed.operator)
    result = await _state(request).pool.run(lambda: engine.deidentify(parsed.resource, op))
    return FhirResponse(result)


@router.post("/fhir", tags=["fhir"], openapi_extra=_FHIR_BODY)
async def batch(request: Request, caller: Caller) -> FhirResponse:
    """A batch or transaction Bundle of operation calls → one response entry per input entry."""
    _require(request, caller, write_if_upstream=True)
    body = await _fhir_json(request)
    state = _state(request)
    items = parse_batch(body, state.settings.max_batch_entries)
    engine = _engine(request)
    bundle_type = body["type"]
    results = await state.pool.run(lambda: run_batch(engine, items, upstream=state.upstream is not None))
    if bundle_type == "transaction":
        for i, item in enumerate(results):
            if item.error is not None:
                item.error.expression = item.error.expression or f"Bundle.entry[{i}]"
                raise item.error
    entries = []
    for item in results:
        if item.error is not None:
            entries.append(
                {"response": {"status": str(item.error.status), "outcome": item.error.to_outcome()}}
            )
            continue
        resource = item.resource
        assert resource is not None
        response: dict[str, Any] = {"status": "200 OK"}
        if state.upstream is not None and item.transaction is not None:
            result = await state.upstream.write(item.transaction)
            resource = _with_upstream_status(resource, result.issue(), result.status)
            response["outcome"] = {"resourceType": "OperationOutcome", "issue": [result.issue()]}
        entries.append({"resource": resource, "response": response})
    return FhirResponse({"resourceType": "Bundle", "type": f"{bundle_type}-response", "entry": entries})

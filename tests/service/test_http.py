"""The HTTP contract over a real uvicorn server: every error status as an OperationOutcome,
limits (413, 429, timeout 503), readiness, metadata, batch routing, logs without PHI, CORS off.

The FHIR mapping is replaced by a stand-in here (``fake_mapping``): these tests check the
service layer; ``test_end_to_end.py`` runs the real mapping.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import spacy

from alia_clin.service import fhir_adapter

from .conftest import (
    API_KEY,
    NOTE,
    auth,
    blocking_loader,
    document_reference,
    key_settings,
    running_server,
)

ANALYZE = "/fhir/DocumentReference/$analyze"
DEIDENTIFY = "/fhir/DocumentReference/$deidentify"


def _blank(_settings: Any) -> Any:
    return spacy.blank("es")


@pytest.fixture()
def base(fake_mapping: None) -> Iterator[str]:
    with running_server(
        key_settings(max_body_bytes=20_000, allowed_operators=["tag", "mask"]), _blank
    ) as url:
        yield url


def _issue(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    issue: dict[str, Any] = body["issue"][0]
    return issue


def _code(response: httpx.Response) -> str:
    return str(_issue(response)["details"]["coding"][0]["code"])


def test_analyze_accepts_both_json_media_types_and_parameters(base: str) -> None:
    for media in ("application/fhir+json", "application/json", "application/fhir+json; charset=UTF-8"):
        headers = {**auth(), "Content-Type": media}
        response = httpx.post(base + ANALYZE, json=document_reference(), headers=headers)
        assert response.status_code == 200, media
        assert response.headers["content-type"].startswith("application/fhir+json")
        assert response.json()["type"] == "collection"
        assert "x-request-id" in response.headers
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "document", "resource": document_reference()},
            {
                "name": "age",
                "valueAge": {"value": 68, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"},
            },
            {"name": "sex", "valueCode": "female"},
            {
                "name": "observation",
                "resource": {"resourceType": "Observation", "status": "final", "code": {}},
            },
        ],
    }
    assert httpx.post(base + ANALYZE, json=params, headers=auth()).status_code == 200


def test_error_statuses_are_operation_outcomes(base: str) -> None:
    post = lambda body, **kw: httpx.post(base + ANALYZE, headers=kw.pop("headers", auth()), **body)  # noqa: E731
    # 415: another media type
    r = post({"content": b"hello"}, headers={**auth(), "Content-Type": "text/plain"})
    assert r.status_code == 415 and _code(r) == "E621"
    r = post({"content": b"{}"}, headers={"Authorization": f"Bearer {API_KEY}"})
    assert r.status_code == 415
    r = post({"content": b"{}"}, headers={**auth(), "Content-Type": "application/fhir+json; charset=latin-1"})
    assert r.status_code == 415
    # 400: malformed JSON / not UTF-8
    r = post({"content": b'{"resourceType": "DocumentReference",'})
    assert r.status_code == 400 and _code(r) == "E622" and _issue(r)["code"] == "structure"
    assert post({"content": b"\xff\xfe{}"}).status_code == 400
    assert post({"content": b"[" * 100_00 + b"]" * 100_00}).status_code == 400
    # 422: valid JSON, not acceptable FHIR
    for body in (
        [],
        {"resourceType": "Patient"},
        {"no": "type"},
        {"resourceType": "Parameters"},
        {
            "resourceType": "Parameters",
            "parameter": [{"name": "document", "resource": {"resourceType": "Patient"}}],
        },
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "document", "resource": document_reference()},
                {"name": "age", "valueInteger": -4},
            ],
        },
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "document", "resource": document_reference()},
                {"name": "sex", "valueCode": "x"},
            ],
        },
    ):
        r = post({"json": body})
        assert r.status_code == 422 and _code(r) == "E623", body
    # 413: too large, with and without Content-Length
    big = document_reference("x" * 30_000)
    r = post({"json": big})
    assert r.status_code == 413 and _code(r) == "E620"

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b" " * 1000

    r = post({"content": chunks()})
    assert r.status_code == 413
    # 404 / 405
    r = httpx.get(base + "/fhir/Patient/1", headers=auth())
    assert r.status_code == 404 and _issue(r)["code"] == "not-found"
    r = httpx.get(base + ANALYZE, headers=auth())
    assert r.status_code == 405 and _code(r) == "E629"


def test_deidentify_operator_policy(base: str) -> None:
    r = httpx.post(base + DEIDENTIFY, json=document_reference(), headers=auth())
    assert r.status_code == 200 and r.json()["description"] == "deid:tag"
    r = httpx.post(base + DEIDENTIFY + "?operator=mask", json=document_reference(), headers=auth())
    assert r.json()["description"] == "deid:mask"
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "document", "resource": document_reference()},
            {"name": "operator", "valueCode": "mask"},
        ],
    }
    assert httpx.post(base + DEIDENTIFY, json=params, headers=auth()).json()["description"] == "deid:mask"
    r = httpx.post(base + DEIDENTIFY + "?operator=redact", json=document_reference(), headers=auth())
    assert r.status_code == 403 and _code(r) == "E628"
    r = httpx.post(base + DEIDENTIFY + "?operator=shred", json=document_reference(), headers=auth())
    assert r.status_code == 422


def test_metadata_declares_the_operations(base: str) -> None:
    cs = httpx.get(base + "/fhir/metadata", headers=auth()).json()
    assert cs["resourceType"] == "CapabilityStatement" and cs["fhirVersion"] == "4.0.1"
    ops = {o["name"]: o["definition"] for o in cs["rest"][0]["resource"][0]["operation"]}
    assert set(ops) == {"analyze", "deidentify"}
    assert cs["rest"][0]["security"]["cors"] is False
    for name in ops:
        od = httpx.get(f"{base}/fhir/OperationDefinition/{name}", headers=auth()).json()
        assert od["resourceType"] == "OperationDefinition" and od["url"] == ops[name]
        assert od["code"] == name and "document" in {p["name"] for p in od["parameter"]}
    assert httpx.get(f"{base}/fhir/OperationDefinition/nope", headers=auth()).status_code == 404


def test_fhir_models_accept_metadata(base: str) -> None:
    from fhir.resources.R4B.capabilitystatement import CapabilityStatement
    from fhir.resources.R4B.operationdefinition import OperationDefinition

    CapabilityStatement.model_validate(httpx.get(base + "/fhir/metadata", headers=auth()).json())
    for name in ("analyze", "deidentify"):
        OperationDefinition.model_validate(
            httpx.get(f"{base}/fhir/OperationDefinition/{name}", headers=auth()).json()
        )


def test_cors_is_off_by_default(base: str) -> None:
    r = httpx.options(
        base + ANALYZE,
        headers={"Origin": "https://ehr.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers
    r = httpx.get(base + "/healthz", headers={"Origin": "https://ehr.example"})
    assert "access-control-allow-origin" not in r.headers


def test_batch_one_response_entry_per_input(base: str) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": document_reference(note_id="a"),
                "request": {"method": "POST", "url": "DocumentReference/$analyze"},
            },
            {
                "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "DocumentReference/$analyze"},
            },
            {
                "resource": document_reference(note_id="c"),
                "request": {"method": "POST", "url": "DocumentReference/$deidentify?operator=mask"},
            },
            {
                "resource": document_reference(note_id="d"),
                "request": {"method": "DELETE", "url": "DocumentReference/d"},
            },
            {
                "resource": document_reference(note_id="e"),
                "request": {"method": "POST", "url": "Patient/$everything"},
            },
            {
                "resource": document_reference(note_id="f"),
                "request": {"method": "POST", "url": "DocumentReference/$deidentify?operator=redact"},
            },
        ],
    }
    r = httpx.post(base + "/fhir", json=bundle, headers=auth())
    assert r.status_code == 200
    out = r.json()
    assert out["resourceType"] == "Bundle" and out["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in out["entry"]]
    assert statuses == ["200 OK", "422", "200 OK", "422", "422", "403"]
    assert out["entry"][0]["resource"]["resourceType"] == "Bundle"
    assert out["entry"][2]["resource"]["description"] == "deid:mask"
    bad = out["entry"][1]["response"]["outcome"]
    assert bad["resourceType"] == "OperationOutcome" and bad["issue"][0]["expression"][0].startswith(
        "Bundle.entry[1]."
    )
    # a transaction is all or nothing
    r = httpx.post(base + "/fhir", json={**bundle, "type": "transaction"}, headers=auth())
    assert r.status_code == 422 and _issue(r)["expression"][0].startswith("Bundle.entry[1].")
    ok = {**bundle, "type": "transaction", "entry": [bundle["entry"][0], bundle["entry"][2]]}
    r = httpx.post(base + "/fhir", json=ok, headers=auth())
    assert r.status_code == 200 and r.json()["type"] == "transaction-response"
    for body in (
        {"resourceType": "Bundle", "type": "collection", "entry": []},
        {"resourceType": "Bundle", "type": "batch", "entry": []},
        {"resourceType": "DocumentReference"},
    ):
        assert httpx.post(base + "/fhir", json=body, headers=auth()).status_code == 422


def test_readiness_waits_for_the_model(fake_mapping: None) -> None:
    gate = threading.Event()

    def slow_loader(settings: Any) -> Any:
        gate.wait(30)
        return spacy.blank("es")

    with running_server(key_settings(), slow_loader, wait_ready=False) as url:
        assert httpx.get(url + "/healthz").status_code == 200
        r = httpx.get(url + "/readyz")
        assert r.status_code == 503 and _code(r) == "E626" and "retry-after" in r.headers
        r = httpx.post(url + ANALYZE, json=document_reference(), headers=auth())
        assert r.status_code == 503 and _code(r) == "E626"
        gate.set()
        deadline = time.monotonic() + 20
        while httpx.get(url + "/readyz").status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert httpx.post(url + ANALYZE, json=document_reference(), headers=auth()).status_code == 200


def test_model_load_failure_is_reported_not_leaked(fake_mapping: None) -> None:
    def broken(settings: Any) -> Any:
        raise OSError("cannot read /secret/path")

    with running_server(key_settings(), broken, wait_ready=False) as url:
        deadline = time.monotonic() + 10
        while "failed" not in (r := httpx.get(url + "/readyz")).text:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert r.status_code == 503 and "OSError" in r.text and "/secret/path" not in r.text


def test_queue_full_gives_429_and_timeout_gives_503(fake_mapping: None) -> None:
    gate, entered = threading.Event(), threading.Event()
    settings = key_settings(max_concurrency=1, max_queue=1, request_timeout_s=2.0)
    with running_server(settings, blocking_loader(gate, entered)) as url, ThreadPoolExecutor(4) as pool:

        def call() -> httpx.Response:
            return httpx.post(url + ANALYZE, json=document_reference(), headers=auth(), timeout=30)

        first = pool.submit(call)
        assert entered.wait(10)  # the only worker is busy
        second = pool.submit(call)  # waits in the queue
        deadline = time.monotonic() + 10
        while httpx.get(url + "/readyz").json()["admitted"] < 2:  # until the queue holds #2
            assert time.monotonic() < deadline
            time.sleep(0.02)
        third = call()
        assert third.status_code == 429 and _code(third) == "E624" and third.headers["retry-after"] == "1"
        timed_out = first.result(timeout=20)
        assert (
            timed_out.status_code == 503
            and _code(timed_out) == "E625"
            and _issue(timed_out)["code"] == "timeout"
        )
        gate.set()
        assert second.result(timeout=20).status_code in (200, 503)  # 503 if it waited past the timeout
        assert call().status_code == 200  # capacity is released once the work really ends


def test_internal_errors_leak_nothing(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fake_mapping: None
) -> None:
    secret_text = "Lucía Ferrán Oliva"

    def explode(resource: dict[str, Any]) -> Any:
        raise RuntimeError(f"boom near {secret_text}")

    monkeypatch.setattr(fhir_adapter, "notes_from_resource", explode)
    caplog.set_level(logging.INFO, logger="alia_clin")
    with running_server(key_settings(), _blank) as url:
        r = httpx.post(url + ANALYZE + "?patient=NHC7788990", json=document_reference(), headers=auth())
        assert r.status_code == 500 and _code(r) == "E627"
        assert secret_text not in r.text and "RuntimeError" not in r.text and "Traceback" not in r.text
        assert r.headers["x-request-id"] in r.text
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert "RuntimeError" in logged  # the log says what failed…
    assert secret_text not in logged and "boom" not in logged  # …but not the message


def test_access_log_has_no_body_or_query(caplog: pytest.LogCaptureFixture, base: str) -> None:
    caplog.set_level(logging.INFO, logger="alia_clin.access")
    r = httpx.post(base + ANALYZE + "?subject=NHC7788990", json=document_reference(), headers=auth())
    assert r.status_code == 200
    # the access line is written once the response has been sent: wait for it (bounded)
    deadline = time.monotonic() + 5
    while True:
        lines = [rec.getMessage() for rec in caplog.records if rec.name == "alia_clin.access"]
        if any(ANALYZE in line and " 200 " in line for line in lines) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert any(ANALYZE in line and " 200 " in line for line in lines)
    joined = "\n".join(rec.getMessage() for rec in caplog.records)
    for needle in ("7788990", "Lucía", "Ferrán", API_KEY, NOTE[:20]):
        assert needle not in joined

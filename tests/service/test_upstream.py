"""Upstream write-back: conditional creates, retries with backoff, and a round trip through the
service into a real FHIR server (``sekmet serve`` on a free loopback port)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from spacy.language import Language

from alia_clin.service.upstream import UpstreamWriter, make_conditional

from ..servers import running_process
from .conftest import (
    auth,
    document_reference,
    free_port,
    key_settings,
    loader_of,
    real_mapping_or_skip,
    running_server,
)

UPSTREAM_TOKEN = "sekmet-test-token-42"
ANALYZE = "/fhir/DocumentReference/$analyze"


def _transaction() -> dict[str, Any]:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:test:obs", "value": "a|b c"}],
        "code": {"text": "x"},
    }
    keep = {"request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=urn:x|1"}}
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": obs, "request": {"method": "POST", "url": "Observation"}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Patient"}, **keep},
            {
                "fullUrl": "urn:uuid:3",
                "resource": {"resourceType": "Device"},
                "request": {"method": "POST", "url": "Device"},
            },
        ],
    }


def test_make_conditional_adds_if_none_exist_on_identifiers() -> None:
    out = make_conditional(_transaction())
    assert out["entry"][0]["request"]["ifNoneExist"] == "identifier=urn%3Atest%3Aobs|a%7Cb%20c"
    assert out["entry"][1]["request"]["ifNoneExist"] == "identifier=urn:x|1"  # kept
    assert "ifNoneExist" not in out["entry"][2]["request"]  # no identifier: nothing to match on


def _writer(handler: Any, retries: int = 3) -> UpstreamWriter:
    return UpstreamWriter(
        "http://127.0.0.1:1/fhir",
        token="t",
        retries=retries,
        backoff_s=0.001,
        transport=httpx.MockTransport(handler),
    )


def test_retries_with_backoff_then_succeeds() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) < 3:
            return httpx.Response(503)
        entries = [{"response": {"status": "201 Created"}}, {"response": {"status": "200 OK"}}]
        return httpx.Response(
            200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": entries}
        )

    async def run() -> Any:
        writer = _writer(handler)
        try:
            return await writer.write(_transaction())
        finally:
            await writer.aclose()

    result = asyncio.run(run())
    assert result.status == "written" and result.attempts == 3 and (result.created, result.existing) == (1, 1)
    assert calls[0].headers["authorization"] == "Bearer t"
    assert calls[0].headers["content-type"] == "application/fhir+json"
    assert "written; attempts=3" in result.header()


def test_client_errors_are_not_retried_and_connection_errors_are() -> None:
    def reject(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"resourceType": "OperationOutcome"})

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    async def run(handler: Any) -> Any:
        writer = _writer(handler, retries=2)
        try:
            return await writer.write(_transaction())
        finally:
            await writer.aclose()

    rejected = asyncio.run(run(reject))
    assert rejected.status == "failed" and rejected.attempts == 1 and rejected.http_status == 400
    unreachable = asyncio.run(run(down))
    assert (
        unreachable.status == "failed"
        and unreachable.attempts == 3
        and "connection" in (unreachable.reason or "")
    )
    assert unreachable.issue()["severity"] == "warning" and "[E640]" in unreachable.issue()["diagnostics"]


# ------------------------------------------------------------------------ sekmet round trip


@pytest.fixture(scope="module")
def sekmet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A sekmet FHIR R4 server on a free loopback port (bearer token), its base URL."""
    exe = shutil.which("sekmet") or str(Path(sys.executable).parent / "sekmet")
    if not Path(exe).exists():
        pytest.skip("sekmet-fhir is not installed")
    root = tmp_path_factory.mktemp("sekmet")
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    (root / "settings.yaml").write_text(
        f"base_url: {base}\nhost: 127.0.0.1\nport: {port}\ndata_dir: {root / 'data'}\n"
        f"server_auth:\n  types: [bearer]\n  tokens: [{UPSTREAM_TOKEN}]\n"
        "simulator:\n  enabled: false\nlog_inbound: false\n",
        encoding="utf-8",
    )
    env = {**os.environ, "SEKMET_CONFIG": str(root / "settings.yaml")}
    cmd = [exe, "serve", "-c", str(root / "settings.yaml"), "--host", "127.0.0.1", "--port", str(port)]
    with running_process(cmd, f"{base}/metadata", log_path=root / "sekmet.log", env=env, cwd=root):
        yield base


def _count(base: str, rtype: str) -> int:
    r = httpx.get(
        f"{base}/{rtype}", params={"_summary": "count"}, headers={"Authorization": f"Bearer {UPSTREAM_TOKEN}"}
    )
    r.raise_for_status()
    return int(r.json()["total"])


def test_analyze_writes_upstream_without_duplicates(sekmet: str, rules_nlp: Language) -> None:
    real_mapping_or_skip()
    settings = key_settings(
        fhir_upstream=sekmet, upstream_token=UPSTREAM_TOKEN, secret="k", upstream_backoff_s=0.05,
        conditional_key="tag",  # sekmet 0.1 has no identifier search on RiskAssessment
    )
    with running_server(settings, loader_of(rules_nlp)) as url:
        first = httpx.post(url + ANALYZE, json=document_reference(note_id="up-1"), headers=auth(), timeout=60)
        assert first.status_code == 200, first.text
        assert first.headers["x-alia-upstream"].startswith("written; attempts=1")
        bundle = first.json()
        assert {
            "system": "https://alia-clin.org/fhir/CodeSystem/upstream-status",
            "code": "written",
        } in bundle["meta"]["tag"]
        produced = [e["resource"]["resourceType"] for e in bundle["entry"][:-1]]
        assert bundle["entry"][-1]["resource"]["resourceType"] == "OperationOutcome"
        counts = {t: _count(sekmet, t) for t in set(produced)}
        assert counts["DocumentReference"] == 1 and counts["Observation"] == produced.count("Observation")
        # the same note again (e.g. a client retry): everything already exists, nothing is duplicated
        again = httpx.post(url + ANALYZE, json=document_reference(note_id="up-1"), headers=auth(), timeout=60)
        assert again.status_code == 200 and "created=0" in again.headers["x-alia-upstream"]
        assert {t: _count(sekmet, t) for t in counts} == counts
        # batch entries are written too
        batch = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [
                {
                    "resource": document_reference(note_id="up-2", text="Varón con FEVI 40 %."),
                    "request": {"method": "POST", "url": "DocumentReference/$analyze"},
                }
            ],
        }
        r = httpx.post(url + "/fhir", json=batch, headers=auth(), timeout=60)
        entry = r.json()["entry"][0]
        assert entry["response"]["status"] == "200 OK"
        assert entry["response"]["outcome"]["issue"][0]["severity"] == "information"
        assert _count(sekmet, "DocumentReference") == 2


def test_upstream_down_is_reported_not_fatal(rules_nlp: Language) -> None:
    real_mapping_or_skip()
    dead = f"http://127.0.0.1:{free_port()}/fhir"
    settings = key_settings(fhir_upstream=dead, upstream_retries=1, upstream_backoff_s=0.01, secret="k")
    with running_server(settings, loader_of(rules_nlp)) as url:
        r = httpx.post(url + ANALYZE, json=document_reference(), headers=auth(), timeout=60)
        assert r.status_code == 200
        assert r.headers["x-alia-upstream"].startswith("failed; attempts=2")
        issue = r.json()["entry"][-1]["resource"]["issue"][0]
        assert issue["severity"] == "warning" and "E640" in issue["diagnostics"]

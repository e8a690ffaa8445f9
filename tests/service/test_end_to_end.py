"""End to end: ``alia-clin serve`` as its own process on a free loopback port, the embedded
rules pipeline and the real FHIR mapping, driven with httpx and with the ``fhirclient`` package.

fhirclient has no call for custom operations, so the operations go through its server object's
``post_json`` (with its session carrying the bearer token); the CapabilityStatement is read with
its own ``prepare()`` and every response is parsed with its R4 models.
"""

from __future__ import annotations

import base64
import os
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest

from alia_clin.service.auth import hash_api_key

from ..rtf import as_rtf
from ..servers import running_process
from .conftest import API_KEY, NOTE, auth, document_reference, free_port, real_mapping_or_skip

PHI = ("Lucía", "Ferrán", "Oliva", "7788990", "05/03/2024")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``alia-clin serve`` in a subprocess; its base URL once /readyz says ready."""
    real_mapping_or_skip()
    port = free_port()
    log_path = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {
        **os.environ,
        "ALIA_API_KEYS": f'[{{"sha256": "{hash_api_key(API_KEY)}", "name": "e2e"}}]',
        "ALIA_SECRET": "e2e-secret",
        "ALIA_MAX_CONCURRENCY": "2",
    }
    exe = Path(sys.executable).parent / "alia-clin"
    base = f"http://127.0.0.1:{port}"
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running_process(cmd, f"{base}/readyz", log_path=log_path, env=env, timeout_s=120):
        yield base
    # the service log (access lines included) never holds note text
    text = log_path.read_text(encoding="utf-8")
    assert "/fhir/DocumentReference/$analyze" in text
    assert not any(p in text for p in PHI)


def _decoded(docref: dict[str, Any]) -> str:
    return base64.b64decode(docref["content"][0]["attachment"]["data"]).decode("utf-8")


def test_analyze_returns_a_valid_r4_bundle_without_phi(served: str) -> None:
    from alia_clin.fhir import validate_bundle

    r = httpx.post(
        f"{served}/fhir/DocumentReference/$analyze", json=document_reference(), headers=auth(), timeout=60
    )
    assert r.status_code == 200, r.text
    bundle = r.json()
    validate_bundle(bundle, "R4")
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert {"DocumentReference", "Patient", "Provenance", "Device", "Observation"} <= set(types)
    assert not any(p in r.text for p in PHI)
    docref = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"
    )
    assert "disnea" in _decoded(docref)  # clinical content kept, identifiers gone


def test_deidentify_operators(served: str) -> None:
    url = f"{served}/fhir/DocumentReference/$deidentify"
    for operator in ("tag", "mask", "redact", "surrogate"):
        r = httpx.post(
            url, params={"operator": operator}, json=document_reference(), headers=auth(), timeout=60
        )
        assert r.status_code == 200, (operator, r.text)
        docref = r.json()
        assert docref["resourceType"] == "DocumentReference"
        text = _decoded(docref)
        assert not any(p in text for p in PHI), operator
        assert "disnea de esfuerzo" in text


def test_deidentify_rtf_note(served: str) -> None:
    """An RTF report (the note written as RTF escapes) comes back as de-identified plain text."""
    rtf = as_rtf(NOTE)
    docref = document_reference()
    docref["content"][0]["attachment"].update(
        contentType="application/rtf", data=base64.b64encode(rtf.encode("ascii")).decode("ascii")
    )
    r = httpx.post(
        f"{served}/fhir/DocumentReference/$deidentify",
        params={"operator": "mask"},
        json=docref,
        headers=auth(),
        timeout=60,
    )
    assert r.status_code == 200, r.status_code
    text = _decoded(r.json())
    assert r.json()["content"][0]["attachment"]["contentType"].startswith("text/plain")
    assert not any(p in text for p in PHI)
    assert "con disnea de esfuerzo. No refiere dolor torácico.\nFEVI 35 %" in text


def test_a_bare_composition_is_a_note(served: str) -> None:
    """A Composition posted on its own (not in a document Bundle) is analysed and de-identified."""
    from alia_clin.fhir import validate_bundle

    lines = NOTE.strip().split("\n")
    composition = {
        "resourceType": "Composition",
        "id": "comp-1",
        "status": "final",
        "type": {"text": "Informe de alta"},
        "subject": {"reference": "Patient/p-1"},
        "date": "2024-03-05",
        "author": [{"display": "Servicio de Cardiología"}],
        "title": "Informe de alta",
        "section": [
            {"title": "Datos del paciente",
             "text": {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{lines[0]}</div>'}},
            {"title": "Enfermedad actual",
             "text": {"status": "generated",
                      "div": f'<div xmlns="http://www.w3.org/1999/xhtml"><p>{lines[1]}</p><p>{lines[2]}</p></div>'}},
        ],
    }
    r = httpx.post(f"{served}/fhir/DocumentReference/$analyze", json=composition, headers=auth(), timeout=60)
    assert r.status_code == 200, r.status_code
    bundle = r.json()
    validate_bundle(bundle, "R4")
    assert not any(p in r.text for p in PHI)
    codes = {
        c["code"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Observation"
        for c in e["resource"]["code"].get("coding", [])
    }
    assert "10230-1" in codes  # FEVI 35 %
    url = f"{served}/fhir/DocumentReference/$deidentify"
    r = httpx.post(url, json=composition, headers=auth(), timeout=60)
    assert r.status_code == 200, r.status_code
    assert r.json()["resourceType"] == "DocumentReference"
    text = _decoded(r.json())
    assert not any(p in text for p in PHI)
    assert "disnea de esfuerzo" in text


def test_patient_context_parameters(served: str) -> None:
    params = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "document", "resource": document_reference()},
            {"name": "patient", "resource": {"resourceType": "Patient", "id": "src-patient-9"}},
            {"name": "age", "valueInteger": 68},
            {"name": "sex", "valueCode": "female"},
        ],
    }
    r = httpx.post(f"{served}/fhir/DocumentReference/$analyze", json=params, headers=auth(), timeout=60)
    assert r.status_code == 200 and "src-patient-9" not in r.text  # pseudonymized


def test_unsupported_attachment_is_422(served: str) -> None:
    docref = document_reference()
    docref["content"][0]["attachment"]["contentType"] = "image/png"
    r = httpx.post(f"{served}/fhir/DocumentReference/$analyze", json=docref, headers=auth(), timeout=60)
    assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome"
    assert NOTE[:15] not in r.text


def test_batch_of_the_shipped_example_notes(served: str) -> None:
    examples = resources.files("alia_clin") / "resources" / "examples"
    notes = sorted(p for p in examples.iterdir() if p.name.endswith(".txt"))
    entries = [
        {
            "resource": document_reference(
                p.read_text(encoding="utf-8"), note_id=p.name[:-4], language=p.name[:2]
            ),
            "request": {"method": "POST", "url": "DocumentReference/$analyze"},
        }
        for p in notes
    ]
    r = httpx.post(
        f"{served}/fhir",
        json={"resourceType": "Bundle", "type": "batch", "entry": entries},
        headers=auth(),
        timeout=120,
    )
    assert r.status_code == 200
    out = r.json()
    assert out["type"] == "batch-response" and len(out["entry"]) == len(notes)
    assert all(e["response"]["status"] == "200 OK" for e in out["entry"])


def test_fhirclient_calls_the_operations(served: str) -> None:
    from fhirclient import client
    from fhirclient.models.bundle import Bundle
    from fhirclient.models.documentreference import DocumentReference

    smart = client.FHIRClient(settings={"app_id": "alia-clin-tests", "api_base": f"{served}/fhir/"})
    smart.server.session.headers["Authorization"] = f"Bearer {API_KEY}"
    assert smart.prepare()  # reads /fhir/metadata into fhirclient's CapabilityStatement model
    capability = smart.server.capabilityStatement
    ops = {op.name for op in capability.rest[0].resource[0].operation}
    assert ops == {"analyze", "deidentify"}

    response = smart.server.post_json("DocumentReference/$analyze", document_reference())
    bundle = Bundle(response.json())  # strict R4 model parse
    assert bundle.type == "collection"
    assert {"DocumentReference", "Provenance"} <= {e.resource.resource_type for e in bundle.entry}

    response = smart.server.post_json("DocumentReference/$deidentify?operator=mask", document_reference())
    docref = DocumentReference(response.json())
    assert docref.content[0].attachment.contentType.startswith("text/plain")

    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": document_reference(),
                "request": {"method": "POST", "url": "DocumentReference/$analyze"},
            }
        ],
    }
    out = Bundle(smart.server.post_json("", batch).json())
    assert out.type == "batch-response" and out.entry[0].response.status == "200 OK"


def test_concurrent_requests_give_the_same_results_as_sequential_ones(served: str) -> None:
    """The pipeline runs in several worker threads at once: outputs must not bleed into each other."""
    from concurrent.futures import ThreadPoolExecutor

    examples = resources.files("alia_clin") / "resources" / "examples"
    texts = [p.read_text(encoding="utf-8") for p in sorted(examples.iterdir()) if p.name.endswith(".txt")]
    url = f"{served}/fhir/DocumentReference/$analyze"

    def call(i: int) -> dict[str, Any]:
        docref = document_reference(texts[i % len(texts)], note_id=f"n{i % len(texts)}")
        r = httpx.post(url, json=docref, headers=auth(), timeout=120)
        assert r.status_code == 200
        result: dict[str, Any] = r.json()
        return result

    sequential = [call(i) for i in range(len(texts))]
    with ThreadPoolExecutor(8) as pool:
        concurrent = list(pool.map(call, range(3 * len(texts))))
    for i, bundle in enumerate(concurrent):
        assert bundle == sequential[i % len(texts)]

"""Round trip through a real FHIR server: sekmet-fhir (R4) on loopback, read back with fhirclient.

Starts ``sekmet serve --host 127.0.0.1 --port <free>`` (base ``/fhir``, its database in a temp
folder), POSTs the transaction bundles of the sample notes (``alia_clin.load()`` over
``alia_clin/resources/examples``) and of the hand-built synthetic notes (which carry entities,
assertions and heart-failure risk, which the default rules pipeline does not produce yet), reads
them back with the ``fhirclient`` package and re-posts everything to prove that conditional
creates make no duplicates.

What sekmet 0.1.1 supports, checked in its search-parameter table: ``identifier`` search exists
for Patient, DocumentReference, Condition, Observation, MedicationStatement, Procedure and
Device, but **not** for FamilyMemberHistory or RiskAssessment, and RiskAssessment has **no
search parameters at all** (``subject`` is ignored with a ``not-supported`` warning). So the
bundles here use ``conditional_key="tag"`` (``ifNoneExist: _tag=…``, which sekmet supports for
every type; the default ``identifier`` keys make sekmet reject the transaction), and
RiskAssessment-by-subject is checked on the client side after the (ignored) server filter.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alia_clin.fhir import FhirPolicy, doc_to_bundle
from alia_clin.fhir.policy import PSEUDONYM_SYSTEM

from ..servers import free_port, running_process
from .notes import cardio_doc, catalan_doc

fhirclient = pytest.importorskip("fhirclient", reason="fhirclient is not installed (dev extra)")
from fhirclient import client as fhir_client  # noqa: E402
from fhirclient.models.condition import Condition  # noqa: E402
from fhirclient.models.observation import Observation  # noqa: E402
from fhirclient.models.patient import Patient  # noqa: E402
from fhirclient.models.riskassessment import RiskAssessment  # noqa: E402

POLICY = FhirPolicy(secret="alia-clin-test-secret", conditional_key="tag")
COUNTED = (
    "Patient",
    "Device",
    "DocumentReference",
    "Condition",
    "Observation",
    "FamilyMemberHistory",
    "MedicationStatement",
    "Procedure",
    "RiskAssessment",
    "Provenance",
)


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/fhir+json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def sekmet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = Path(sys.executable).with_name("sekmet")
    if not exe.exists():
        pytest.skip("sekmet-fhir is not installed (dev extra, Python >= 3.11)")
    workdir = tmp_path_factory.mktemp("sekmet")
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    env = {**os.environ, "SEKMET_BASE_URL": base, "SEKMET_DB": str(workdir / "sekmet.db")}
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with running_process(cmd, f"{base}/metadata", log_path=workdir / "server.log", env=env, cwd=workdir):
        yield base


@pytest.fixture(scope="module")
def transactions(sample_docs) -> list[dict[str, Any]]:
    docs = [*sample_docs, cardio_doc(), catalan_doc()]
    return [doc_to_bundle(d, bundle_type="transaction", policy=POLICY) for d in docs]


def _server(base: str) -> Any:
    return fhir_client.FHIRClient(settings={"app_id": "alia-clin-tests", "api_base": base}).server


def _search(model: Any, server: Any, params: dict[str, str]) -> list[Any]:
    return [r for r in model.where(struct=params).perform_resources_iter(server) if isinstance(r, model)]


def _count_all(base: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for rtype in COUNTED:
        counts[rtype] = int(_get(f"{base}/{rtype}?_summary=count").get("total", 0))
    return counts


def _value(resource: dict[str, Any]) -> str:
    """The value[x] of an Observation as canonical JSON."""
    return json.dumps({k: v for k, v in resource.items() if k.startswith("value")}, sort_keys=True)


def _expected(transactions: list[dict[str, Any]]) -> Counter[str]:
    keys = {
        (e["resource"]["resourceType"], e["request"]["ifNoneExist"]) for t in transactions for e in t["entry"]
    }
    return Counter(rtype for rtype, _ in keys)


def test_round_trip(sekmet: str, transactions: list[dict[str, Any]]) -> None:
    assert _count_all(sekmet)["Condition"] == 0  # fresh server
    for bundle in transactions:
        response = _post(sekmet, bundle)
        assert response["type"] == "transaction-response"
        assert len(response["entry"]) == len(bundle["entry"])
    expected = _expected(transactions)
    assert _count_all(sekmet) == expected
    # two sample notes share one synthetic patient → one Patient on the server
    assert expected["Patient"] == len(transactions) - 1

    server = _server(sekmet)
    all_conditions = [
        e["resource"]
        for t in transactions
        for e in t["entry"]
        if e["resource"]["resourceType"] == "Condition"
    ]
    for status in ("confirmed", "refuted", "unconfirmed"):
        want = sum(c["verificationStatus"]["coding"][0]["code"] == status for c in all_conditions)
        found = _search(Condition, server, {"verification-status": status})
        assert want > 0 and len(found) == want, status
        assert all(c.verificationStatus.coding[0].code == status for c in found)

    lvef = [
        e["resource"]
        for t in transactions
        for e in t["entry"]
        if e["resource"]["resourceType"] == "Observation"
        and e["resource"]["code"].get("coding", [{}])[0].get("code") == "10230-1"
    ]
    found_obs = _search(Observation, server, {"code": "http://loinc.org|10230-1"})
    assert lvef and len(found_obs) == len(lvef)
    assert sorted(map(_value, (o.as_json() for o in found_obs))) == sorted(map(_value, lvef))
    assert all(o.valueQuantity.system == "http://unitsofmeasure.org" for o in found_obs if o.valueQuantity)

    # RiskAssessment by subject: find the server Patient by pseudonym, then its RiskAssessment
    cardio = transactions[-2]  # the hand-built cardiology note (its risk is set by hand)
    assert any(e["resource"]["resourceType"] == "RiskAssessment" for e in cardio["entry"])
    pseudonym = next(e["resource"] for e in cardio["entry"] if e["resource"]["resourceType"] == "Patient")
    value = pseudonym["identifier"][0]["value"]
    (patient,) = _search(Patient, server, {"identifier": f"{PSEUDONYM_SYSTEM}|{value}"})
    subject = f"Patient/{patient.id}"
    # sekmet ignores 'subject' for RiskAssessment (not-supported warning): filter on the client too
    risks = [
        r for r in _search(RiskAssessment, server, {"subject": subject}) if r.subject.reference == subject
    ]
    assert len(risks) == 1
    assert risks[0].prediction[0].probabilityDecimal == 0.82
    assert risks[0].prediction[0].qualitativeRisk.coding[0].code == "high"
    # basis references were rewritten from urn:uuid to server ids and resolve
    for ref in risks[0].basis:
        rtype, rid = ref.reference.split("/")
        assert _get(f"{sekmet}/{rtype}/{rid}")["id"] == rid

    # re-post everything: every entry matches the existing resource, nothing is duplicated
    for bundle in transactions:
        response = _post(sekmet, bundle)
        statuses = {e["response"]["status"] for e in response["entry"]}
        assert statuses == {"200 OK"}, statuses
    assert _count_all(sekmet) == expected

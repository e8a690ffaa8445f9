"""doc_to_bundle: resources, mapping decisions, references, determinism, transactions."""

from __future__ import annotations

import json
import uuid

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.fhir import FhirPolicy, doc_to_bundle, resources_by_type, validate_bundle
from alia_clin.fhir.ids import KEY_TAG_SYSTEM

from .helpers import assertion, attachment_text, by_type, derivation, walk_references, walk_strings
from .notes import CARDIO_ENTS, cardio_doc, catalan_doc

POLICY = FhirPolicy(secret="test-secret")


@pytest.fixture(scope="module")
def doc():
    return cardio_doc()


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_resource_types_and_validation(doc, version):
    bundle = doc_to_bundle(doc, version=version, policy=POLICY)
    types = resources_by_type(bundle)
    assert len(types["Condition"]) == 2  # present + uncertain; the family one is a FamilyMemberHistory
    assert len(types["FamilyMemberHistory"]) == 1
    assert len(types["MedicationStatement"]) == 1
    assert len(types["Procedure"]) == 1
    assert len(types["RiskAssessment"]) == 1
    # 1 symptom + 3 measurements (LVEF, NT-proBNP, BP) + 1 evidence observation (edema)
    assert len(types["Observation"]) == 5
    assert [len(types[t]) for t in ("Patient", "Device", "DocumentReference", "Provenance")] == [1, 1, 1, 1]
    validate_bundle(bundle, version)  # also done inside; re-parse the serialized form
    validate_bundle(json.loads(json.dumps(bundle)), version)


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_derivation_reference_points_into_deidentified_text(doc, version):
    bundle = doc_to_bundle(doc, version=version, policy=POLICY)
    text = attachment_text(bundle)
    (docref,) = by_type(bundle, "DocumentReference")
    surfaces = {s for s, *_ in CARDIO_ENTS}
    checked = 0
    for entry in bundle["entry"]:
        res = entry["resource"]
        if res["resourceType"] in ("Patient", "Device", "DocumentReference", "Provenance", "RiskAssessment"):
            continue
        d = derivation(res)
        assert d["reference"]["reference"] == "urn:uuid:" + docref["id"]
        piece = text[d["offset"] : d["offset"] + d["length"]]
        assert piece
        concept = (
            res.get("code")
            or res.get("medicationCodeableConcept")
            or res.get("medication", {}).get("concept")
            or res.get("condition", [{}])[0].get("code")
            or {}
        )
        if concept.get("text") in surfaces:
            assert piece == concept["text"]
            checked += 1
    assert checked == len(CARDIO_ENTS)


def test_assertion_mapping_r4(doc):
    bundle = doc_to_bundle(doc, policy=POLICY)
    conds = {c["code"]["text"]: c for c in by_type(bundle, "Condition")}
    hf = conds["insuficiencia cardiaca"]
    assert hf["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert hf["clinicalStatus"]["coding"][0]["code"] == "active"
    assert [c["code"] for c in hf["code"]["coding"]] == ["84114007", "I50.9"]
    assert hf["evidence"][0]["detail"][0]["reference"].startswith("urn:uuid:")
    pneu = conds["neumonía"]
    assert pneu["verificationStatus"]["coding"][0]["code"] == "unconfirmed"
    assert "clinicalStatus" not in pneu
    (fmh,) = by_type(bundle, "FamilyMemberHistory")
    assert fmh["condition"][0]["code"]["coding"][0]["code"] == "73211009"
    assert fmh["relationship"]["coding"][0]["code"] == "FAMMEMB"
    symptom = next(o for o in by_type(bundle, "Observation") if o["code"].get("text") == "dolor torácico")
    assert symptom["interpretation"][0]["coding"][0]["code"] == "NEG"
    assert assertion(symptom) == "negated"
    (med,) = by_type(bundle, "MedicationStatement")
    assert med["medicationCodeableConcept"]["coding"][0] == {
        "system": "http://www.whocc.no/atc",
        "code": "C03CA01",
        "display": "furosemida",
    }
    assert med["status"] == "active"
    (proc,) = by_type(bundle, "Procedure")
    assert proc["status"] == "completed" and proc["code"]["coding"][0]["code"] == "40701008"


def test_assertion_mapping_r5_and_historical():
    doc = catalan_doc()
    r4 = doc_to_bundle(doc, policy=POLICY)
    r5 = doc_to_bundle(doc, version="R5", policy=POLICY)
    c4, refuted = by_type(r4, "Condition")
    c5, _ = by_type(r5, "Condition")
    assert refuted["verificationStatus"]["coding"][0]["code"] == "refuted"
    # historical: confirmed; the note does not say whether it is still active
    assert c4["verificationStatus"]["coding"][0]["code"] == "confirmed"
    assert "clinicalStatus" not in c4
    assert c5["clinicalStatus"]["coding"][0]["code"] == "unknown"
    assert c5["evidence"][0]["reference"]["reference"].startswith("urn:uuid:")
    (docref,) = by_type(r5, "DocumentReference")
    assert docref["content"][0]["attachment"]["language"] == "ca"


def test_r5_medication_statement(doc):
    (med,) = by_type(doc_to_bundle(doc, version="R5", policy=POLICY), "MedicationStatement")
    assert med["status"] == "recorded"
    assert med["medication"]["concept"]["coding"][0]["code"] == "C03CA01"
    assert med["adherence"]["code"]["coding"][0]["code"] == "taking"


def test_measurements(doc):
    obs = {
        o["code"]["coding"][0]["code"]: o
        for o in by_type(doc_to_bundle(doc, policy=POLICY), "Observation")
        if o["code"].get("coding") and o["code"]["coding"][0]["system"] == "http://loinc.org"
    }
    assert obs["10230-1"]["valueQuantity"] == {
        "value": 35.0,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    assert obs["33762-6"]["valueQuantity"]["value"] == 2300.0
    assert obs["33762-6"]["valueQuantity"]["code"] == "pg/mL"
    bp = obs["85354-9"]
    assert [(c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]] == [
        ("8480-6", 130.0),
        ("8462-4", 80.0),
    ]
    assert bp["category"][0]["coding"][0]["code"] == "vital-signs"


def test_risk_assessment_basis_resolves(doc):
    bundle = doc_to_bundle(doc, policy=POLICY)
    (risk,) = by_type(bundle, "RiskAssessment")
    pred = risk["prediction"][0]
    assert pred["probabilityDecimal"] == 0.82
    assert pred["qualitativeRisk"]["coding"][0]["code"] == "high"
    assert risk["method"]["text"] == "alia_hf_risk 0.1.0"
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    basis = [urls[b["reference"]] for b in risk["basis"]]
    kinds = sorted(r["resourceType"] for r in basis)
    assert kinds == ["Condition", "Observation", "Observation"]
    lvef = next(r for r in basis if r["code"].get("coding", [{}])[0].get("code") == "10230-1")
    assert "valueQuantity" in lvef  # the measurement Observation itself, not a copy
    edema = next(r for r in basis if r["code"].get("text") == "peripheral_edema")
    assert edema["interpretation"][0]["coding"][0]["code"] == "POS"


def test_references_resolve_and_ids_are_uuids(doc):
    for version in ("R4", "R5"):
        bundle = doc_to_bundle(doc, version=version, policy=POLICY)
        full_urls = {e["fullUrl"] for e in bundle["entry"]}
        for e in bundle["entry"]:
            assert e["fullUrl"] == "urn:uuid:" + str(uuid.UUID(e["resource"]["id"]))
        refs = list(walk_references(bundle))
        assert refs and all(r in full_urls for r in refs)


def test_provenance_and_device(doc):
    bundle = doc_to_bundle(doc, policy=POLICY)
    (prov,) = by_type(bundle, "Provenance")
    (device,) = by_type(bundle, "Device")
    (docref,) = by_type(bundle, "DocumentReference")
    targets = {t["reference"] for t in prov["target"]}
    derived = {
        e["fullUrl"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] not in ("Patient", "Device", "Provenance")
    }
    assert targets == derived
    assert prov["entity"] == [{"role": "source", "what": {"reference": "urn:uuid:" + docref["id"]}}]
    assert prov["agent"][0]["who"]["reference"] == "urn:uuid:" + device["id"]
    assert prov["recorded"] == "2024-03-11T00:00:00Z"


def test_deterministic(doc):
    a = json.dumps(doc_to_bundle(doc, policy=POLICY), sort_keys=False)
    b = json.dumps(doc_to_bundle(cardio_doc(), policy=POLICY), sort_keys=False)
    assert a == b
    other = doc_to_bundle(cardio_doc(note_id="note-2"), policy=POLICY)
    assert other["id"] != json.loads(a)["id"]


@pytest.mark.parametrize("key", ["identifier", "tag"])
def test_transaction_requests(doc, key):
    policy = FhirPolicy(secret="test-secret", conditional_key=key)
    bundle = doc_to_bundle(doc, bundle_type="transaction", policy=policy)
    assert bundle["type"] == "transaction"
    for e in bundle["entry"]:
        res, req = e["resource"], e["request"]
        assert "id" not in res
        assert req["method"] == "POST" and req["url"] == res["resourceType"]
        rid = e["fullUrl"].removeprefix("urn:uuid:")
        if key == "tag" or res["resourceType"] == "Provenance":
            assert req["ifNoneExist"] == f"_tag={KEY_TAG_SYSTEM}|{rid}"
            assert {"system": KEY_TAG_SYSTEM, "code": rid} in res["meta"]["tag"]
        elif res["resourceType"] == "Patient":  # keyed by the pseudonym: one Patient across notes
            ident = res["identifier"][0]
            assert ident["system"] == "urn:alia-clin:patient-pseudonym"
            assert req["ifNoneExist"] == f"identifier={ident['system']}|{ident['value']}"
        else:
            assert req["ifNoneExist"] == f"identifier=urn:alia-clin:resource-key|{rid}"
    validate_bundle(bundle, "R4")


def test_bad_arguments(doc):
    with pytest.raises(AliaClinValueError, match="E401"):
        doc_to_bundle(doc, version="DSTU2", policy=POLICY)
    with pytest.raises(AliaClinValueError, match="E400"):
        doc_to_bundle(doc, bundle_type="batch", policy=POLICY)  # type: ignore[arg-type]
    with pytest.raises(AliaClinValueError, match="E013"):
        FhirPolicy(operator="surrogate")


def test_empty_doc_still_valid():
    from .notes import make_doc

    doc = make_doc("Control sin incidencias.\n", [], [], patient_id=None, note_id=None, note_date=None)
    bundle = doc_to_bundle(doc, version="R5", policy=POLICY)
    types = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert types == ["Patient", "Device", "DocumentReference", "Provenance"]
    assert "Control sin incidencias." in "".join(walk_strings(attachment_text(bundle)))

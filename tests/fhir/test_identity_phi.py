"""Patient identity policy and PHI hygiene of emitted bundles (synthetic notes)."""

from __future__ import annotations

import hashlib
import hmac
import json
import warnings

import pytest

from alia_clin.errors import AliaClinWarning
from alia_clin.fhir import FhirPolicy, doc_to_bundle
from alia_clin.fhir.policy import PSEUDONYM_SYSTEM

from .helpers import attachment_text, by_type, walk_strings
from .notes import CARDIO_PHI, cardio_doc


def _serialized(bundle):
    return json.dumps(bundle, ensure_ascii=False) + "\n" + attachment_text(bundle)


def test_default_policy_leaks_no_phi():
    bundle = doc_to_bundle(cardio_doc(), policy=FhirPolicy(secret="k"))
    blob = _serialized(bundle).casefold()
    for value, _ in CARDIO_PHI:
        assert value.casefold() not in blob
    # the source ids are PHI too
    assert "7712345" not in blob and "note-1" not in blob
    # a name part detected once is masked elsewhere ("Dra. Ferrer")
    assert "ferrer" not in blob
    text = attachment_text(bundle)
    assert "[NOMBRE_SUJETO_ASISTENCIA]" in text and "insuficiencia cardiaca" in text


def test_secret_not_in_repr():
    assert "s3cr3t-value" not in repr(FhirPolicy(secret="s3cr3t-value"))


def test_pseudonym_is_keyed_hmac():
    bundle = doc_to_bundle(cardio_doc(), policy=FhirPolicy(secret="k"))
    (patient,) = by_type(bundle, "Patient")
    expected = hmac.new(b"k", b"patient\x007712345", hashlib.sha256).hexdigest()
    assert patient["identifier"] == [{"system": PSEUDONYM_SYSTEM, "value": expected}]
    assert patient["meta"]["security"][0]["code"] == "PSEUDED"
    assert set(patient) == {"resourceType", "id", "identifier", "meta"}


def test_same_patient_links_across_notes_and_secret_matters():
    a = by_type(doc_to_bundle(cardio_doc(note_id="a"), policy=FhirPolicy(secret="k")), "Patient")[0]
    b = by_type(doc_to_bundle(cardio_doc(note_id="b"), policy=FhirPolicy(secret="k")), "Patient")[0]
    c = by_type(doc_to_bundle(cardio_doc(note_id="a"), policy=FhirPolicy(secret="other")), "Patient")[0]
    assert a == b
    assert a["identifier"] != c["identifier"]


def test_without_secret_nothing_derived_from_source_ids():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        one = doc_to_bundle(cardio_doc(note_id="a"))
        two = doc_to_bundle(cardio_doc(note_id="b", patient_id="other"))
    assert any(issubclass(w.category, AliaClinWarning) and "[W400]" in str(w.message) for w in caught)
    # keys come from the de-identified content only: same text → same bundle, whatever the ids
    assert one == two
    unkeyed = hashlib.sha256(b"7712345").hexdigest()
    assert unkeyed not in json.dumps(one)


def test_real_identifiers_only_when_configured():
    policy = FhirPolicy(
        identity="real",
        patient_system="https://hospital.example/nhc",
        note_system="https://hospital.example/note",
    )
    bundle = doc_to_bundle(cardio_doc(), policy=policy)
    (patient,) = by_type(bundle, "Patient")
    assert patient["identifier"] == [{"system": "https://hospital.example/nhc", "value": "7712345"}]
    (docref,) = by_type(bundle, "DocumentReference")
    assert {"system": "https://hospital.example/note", "value": "note-1"} in docref["identifier"]
    # the text is still de-identified
    assert "Lucía" not in attachment_text(bundle)


def test_entity_overlapping_phi_carries_no_text():
    from .notes import SNOMED, make_doc

    text = "Paciente: Parkinson Ruiz. Enfermedad de Parkinson avanzada.\n"
    doc = make_doc(
        text,
        [("Parkinson", "ENFERMEDAD", "present", [(SNOMED, "49049000", "Parkinson")])],
        [("Parkinson Ruiz", "NOMBRE_SUJETO_ASISTENCIA")],
    )
    bundle = doc_to_bundle(doc, policy=FhirPolicy(secret="k"))
    (cond,) = by_type(bundle, "Condition")
    assert "text" not in cond["code"]  # the mention overlaps PHI (propagated name part)
    assert cond["code"]["coding"][0]["code"] == "49049000"
    assert "Ruiz" not in "".join(walk_strings(bundle))


@pytest.mark.parametrize("operator", ["tag", "mask", "redact", "surrogate"])
def test_operators(operator):
    bundle = doc_to_bundle(cardio_doc(), policy=FhirPolicy(secret="k", operator=operator))
    text = attachment_text(bundle)
    assert "Lucía Ferrer Gil" not in text and "7712345" not in text

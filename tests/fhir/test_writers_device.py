"""Streaming writers, the $deidentify DocumentReference and the Device model hashes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.fhir import (
    FhirBundleWriter,
    FhirNdjsonWriter,
    FhirPolicy,
    deidentified_document_reference,
    device_info,
    doc_to_bundle,
    hash_directory,
    notes_from_resource,
    validate_resource,
)

from .helpers import by_type
from .notes import cardio_doc, catalan_doc

POLICY = FhirPolicy(secret="k")


def test_ndjson_writer_one_file_per_type_shared_resources_once(tmp_path):
    with FhirNdjsonWriter(tmp_path, policy=POLICY) as w:
        first = w.write(cardio_doc(note_id="a"))
        second = w.write(cardio_doc(note_id="b"))  # same patient, same device
        w.write(catalan_doc())
        manifest = w.manifest()
    assert first["Patient"] == 1 and first["Device"] == 1
    assert "Patient" not in second and "Device" not in second
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == sorted(f"{m['type']}.ndjson" for m in manifest)
    for m in manifest:
        lines = (tmp_path / m["url"]).read_text(encoding="utf-8").splitlines()
        assert len(lines) == m["count"]
        for line in lines:
            res = json.loads(line)
            assert res["resourceType"] == m["type"]
            validate_resource(res, "R4")
    counts = {m["type"]: m["count"] for m in manifest}
    assert counts["Patient"] == 2 and counts["Device"] == 1 and counts["DocumentReference"] == 3


def test_bundle_writer(tmp_path):
    w = FhirBundleWriter(tmp_path, version="R5", policy=POLICY, bundle_type="transaction")
    path = w.write(cardio_doc(note_id="es/02 alta"))
    w.close()
    assert path.name == "es_02_alta.json"
    bundle = json.loads(path.read_text(encoding="utf-8"))
    assert bundle["type"] == "transaction"
    named = FhirBundleWriter(tmp_path / "ids", policy=POLICY, name_by="bundle_id").write(
        cardio_doc(note_id="x")
    )
    assert named.stem == json.loads(named.read_text(encoding="utf-8"))["id"]
    assert bundle == doc_to_bundle(
        cardio_doc(note_id="es/02 alta"), version="R5", bundle_type="transaction", policy=POLICY
    )


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_deidentified_document_reference(version):
    source = {
        "resourceType": "DocumentReference",
        "id": "src",
        "status": "current",
        "type": {"coding": [{"system": "http://loinc.org", "code": "18842-5"}], "text": "Alta de Lucía"},
        "description": "Informe de Lucía Ferrer Gil",
        "author": [{"display": "Dra. Ferrer"}],
    }
    res = deidentified_document_reference(
        cardio_doc(), source=source, version=version, policy=POLICY, operator="mask"
    )
    validate_resource(res, version)
    blob = json.dumps(res, ensure_ascii=False)
    assert "Lucía" not in blob and "Ferrer" not in blob and "description" not in res
    assert res["type"] == {"coding": [{"system": "http://loinc.org", "code": "18842-5"}]}
    assert res["subject"]["identifier"]["system"] == "urn:alia-clin:patient-pseudonym"
    (rec,) = notes_from_resource(res)
    assert len(rec.text) == len(cardio_doc().text)  # mask keeps every offset
    assert "*" * len("Lucía Ferrer Gil") in rec.text


def test_hash_directory_is_deterministic(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "w.bin").write_bytes(b"\x00\x01")
    (tmp_path / "cfg").write_text("x")
    h1 = hash_directory(tmp_path)
    copy = tmp_path.parent / (tmp_path.name + "-copy")
    shutil.copytree(tmp_path, copy)
    assert hash_directory(copy) == h1
    (copy / "a" / "w.bin").write_bytes(b"\x00\x02")
    assert hash_directory(copy) != h1


def test_device_info_of_the_shipped_pipeline():
    import alia_clin

    nlp = alia_clin.load()
    info = device_info(nlp)
    names = [n for n, _ in info.model_hashes]
    assert names[0] == "model" and set(nlp.pipe_names) <= set(names)
    assert info == device_info(nlp)
    bundle = doc_to_bundle(cardio_doc(), policy=POLICY, device=info)
    (device,) = by_type(bundle, "Device")
    values = {v["type"]["text"]: v["value"] for v in device["version"]}
    assert values["sha256:model"] == dict(info.model_hashes)["model"]
    assert Path(str(nlp.path)).is_dir()


def test_validation_error_is_coded_and_has_no_values():
    bad = {
        "resourceType": "Observation",
        "id": "x",
        "status": "final",
        "code": {"text": "Lucía Ferrer Gil"},
        "valueQuantity": {"value": "no es un número"},
    }
    with pytest.raises(AliaClinValueError, match=r"\[E402\]") as info:
        validate_resource(bad, "R4")
    assert "Lucía" not in str(info.value) and "no es" not in str(info.value)
    assert "valueQuantity" in str(info.value)

"""Golden bundles (R4 and R5) of the synthetic notes, re-parsed by the fhir.resources models.

Regenerate after an intended mapping change with ``ALIA_CLIN_REGEN_GOLDEN=1 pytest tests/fhir``
and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from alia_clin.fhir import DeviceInfo, FhirPolicy, doc_to_bundle
from alia_clin.fhir.validate import model_class

from .notes import cardio_doc, catalan_doc

GOLDEN = Path(__file__).parent / "golden"
DEVICE = DeviceInfo("alia-clin-test", "0.0.0", "0.0.0", (("model", "0" * 64),))
POLICY = FhirPolicy(secret="golden-secret")
CASES = {
    "cardio": (cardio_doc, "collection"),
    "catalan": (catalan_doc, "collection"),
    "cardio-transaction": (cardio_doc, "transaction"),
}


@pytest.mark.parametrize("version", ["R4", "R5"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case, version):
    make, bundle_type = CASES[case]
    bundle = doc_to_bundle(make(), version=version, bundle_type=bundle_type, policy=POLICY, device=DEVICE)
    path = GOLDEN / f"{case}.{version}.json"
    if os.environ.get("ALIA_CLIN_REGEN_GOLDEN"):
        path.write_text(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    golden = json.loads(path.read_text(encoding="utf-8"))
    assert bundle == golden
    # re-parse with the models: the golden file is a valid Bundle, entry by entry
    parsed = model_class(version, "Bundle").model_validate(golden)
    assert len(parsed.entry) == len(golden["entry"])
    for entry in golden["entry"]:
        res = entry["resource"]
        model = model_class(version, res["resourceType"]).model_validate(res)
        assert model.get_resource_type() == res["resourceType"]

"""The npm validators `fhir` (FHIR.js) and `@medplum/core` 4.x accept every R4 bundle emitted for
the sample notes (and the hand-built notes), and reject a deliberately broken one.

Needs Node ≥ 20 and ``tests/fhir/node/node_modules`` (installed by ``bash .ci/setup dev``);
skipped with a message when either is missing.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from alia_clin.fhir import doc_to_bundle

from .conftest import SAMPLE_POLICY
from .notes import cardio_doc, catalan_doc

NODE_DIR = Path(__file__).parent / "node"


def _run_validators(files: list[Path]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the npm FHIR validators cannot run")
    if (
        not (NODE_DIR / "node_modules" / "@medplum" / "core").is_dir()
        or not (NODE_DIR / "node_modules" / "fhir").is_dir()
    ):
        pytest.skip("npm validators not installed: run `bash .ci/setup dev` (npm install in tests/fhir/node)")
    proc = subprocess.run(
        [node, str(NODE_DIR / "validate.mjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def bundles(sample_docs) -> dict[str, dict]:
    out = {}
    for doc in [*sample_docs, cardio_doc(), catalan_doc()]:
        for bundle_type in ("collection", "transaction"):
            out[f"{doc._.note_id}.{bundle_type}"] = doc_to_bundle(
                doc, bundle_type=bundle_type, policy=SAMPLE_POLICY
            )
    return out


def test_validators_accept_every_bundle(bundles, tmp_path):
    files = []
    for name, bundle in bundles.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(bundle), encoding="utf-8")
        files.append(path)
    results = _run_validators(files)
    assert len(results) == len(files)
    failures = {
        r["file"]: (r["fhir"]["errors"], r["medplum"]["errors"])
        for r in results
        if not (r["fhir"]["valid"] and r["medplum"]["valid"])
    }
    assert not failures


def test_validators_reject_a_broken_bundle(bundles, tmp_path):
    broken = copy.deepcopy(bundles["note-1.collection"])
    cond = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Condition")
    cond["verificationStatus"] = {"coding": [{"system": "x", "code": "confirmed"}], "bogus": True}
    obs = next(e["resource"] for e in broken["entry"] if e["resource"]["resourceType"] == "Observation")
    obs["status"] = "not-a-status"
    del obs["code"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    (result,) = _run_validators([path])
    assert not result["fhir"]["valid"] and result["fhir"]["errors"]
    assert not result["medplum"]["valid"] and result["medplum"]["errors"]

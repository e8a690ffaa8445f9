"""Fixtures of the FHIR tests: the bundled sample notes processed by the default pipeline."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from alia_clin.fhir import FhirPolicy

#: The policy the server and validator tests use (a secret, so patients are linked by pseudonym).
SAMPLE_POLICY = FhirPolicy(secret="alia-clin-test-secret")


@pytest.fixture(scope="session")
def sample_docs() -> list[Any]:
    """Every ``alia_clin/resources/examples/*.txt`` note run through ``alia_clin.load()``.

    Each note gets its file stem as note id and a synthetic patient id (two notes share one
    patient, to exercise patient linking).
    """
    import alia_clin

    nlp = alia_clin.load()
    folder = resources.files("alia_clin") / "resources" / "examples"
    docs = []
    paths = sorted((p for p in folder.iterdir() if p.name.endswith(".txt")), key=lambda p: p.name)
    for i, path in enumerate(paths):
        doc = nlp(path.read_text(encoding="utf-8"))
        doc._.note_id = path.name.removesuffix(".txt")
        doc._.patient_id = f"synthetic-patient-{max(i, 1)}"
        doc._.language = doc._.language or doc._.note_id.split("_")[0]
        docs.append(doc)
    assert docs
    return docs

"""Schema-driven fuzzing (schemathesis over the app's OpenAPI schema): whatever a client sends,
the service never answers 500, and every error is an OperationOutcome.

Runs against a real uvicorn server with the embedded rules pipeline and the real FHIR mapping.
Examples are derandomized (the same cases every run) and bounded per operation. The cases come
from schemathesis' strategies driven by hypothesis directly (its pytest plugin does not load
under pytest 9).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from spacy.language import Language

from alia_clin.service import create_app

from .conftest import (
    API_KEY,
    auth,
    document_reference,
    key_settings,
    loader_of,
    real_mapping_or_skip,
    running_server,
)

MAX_EXAMPLES = 60


@pytest.fixture(scope="module")
def fuzz_server(rules_nlp: Language) -> Iterator[str]:
    real_mapping_or_skip()
    with running_server(key_settings(secret="fuzz", request_timeout_s=60), loader_of(rules_nlp)) as url:
        yield url


def _operations() -> list[Any]:
    app = create_app(key_settings())
    schema = schemathesis.openapi.from_dict(app.openapi())
    return [result.ok() for result in schema.get_all_operations()]


OPERATIONS = _operations()


# invalid (schema-violating) cases exist only where there is input: the POST bodies
CASES = [(op, GenerationMode.POSITIVE) for op in OPERATIONS] + [
    (op, GenerationMode.NEGATIVE) for op in OPERATIONS if op.label.startswith("POST")
]


@pytest.mark.parametrize(("operation", "mode"), CASES, ids=[f"{op.label}-{mode.value}" for op, mode in CASES])
def test_no_server_errors(operation: Any, mode: GenerationMode, fuzz_server: str) -> None:
    seen: list[int] = []

    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        headers = {**(case.headers or {}), "Authorization": f"Bearer {API_KEY}"}
        response = case.call(base_url=fuzz_server, headers=headers, timeout=60)
        seen.append(response.status_code)
        assert response.status_code < 500 or response.status_code == 503, response.text[:300]
        if response.status_code >= 400:
            assert response.json()["resourceType"] == "OperationOutcome"

    check()
    assert seen  # the operation was really exercised


@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    text=st.text(min_size=0, max_size=400),
    language=st.sampled_from(["es", "ca", "eu", "gl", "en", "", "xx-YY"]),
    operation=st.sampled_from(["$analyze", "$deidentify", "$deidentify?operator=surrogate"]),
)
def test_arbitrary_note_text_never_fails(fuzz_server: str, text: str, language: str, operation: str) -> None:
    """Any Unicode text (controls, surrogate-free, empty) through the real pipeline and mapping."""
    docref = document_reference(text, language=language)
    r = httpx.post(
        f"{fuzz_server}/fhir/DocumentReference/{operation}", json=docref, headers=auth(), timeout=60
    )
    assert r.status_code in (200, 422), r.text[:300]


@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    body=st.binary(max_size=300),
    media=st.sampled_from(["application/fhir+json", "application/json", "text/plain", "", "application/xml"]),
)
def test_arbitrary_bytes_never_fail(fuzz_server: str, body: bytes, media: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": media}
    r = httpx.post(
        f"{fuzz_server}/fhir/DocumentReference/$analyze", content=body, headers=headers, timeout=60
    )
    assert r.status_code in (400, 415, 422), r.text[:300]
    assert r.json()["resourceType"] == "OperationOutcome"

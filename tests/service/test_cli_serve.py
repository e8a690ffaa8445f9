"""``alia-clin serve`` options: key hashing, refusal to start without auth or with bad settings,
and settings that open metadata / the OpenAPI schema."""

from __future__ import annotations

import httpx
import pytest
import spacy
from typer.testing import CliRunner

from alia_clin.cli.main import app
from alia_clin.service.auth import hash_api_key

from .conftest import auth, key_settings, running_server

runner = CliRunner()


def test_hash_api_key_prints_the_digest_only() -> None:
    result = runner.invoke(app, ["serve", "--hash-api-key"], input="my-key\n")
    assert result.exit_code == 0
    assert result.stdout.strip() == hash_api_key("my-key") and "my-key" not in result.stdout


def test_serve_refuses_to_start_without_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIA_API_KEYS", raising=False)
    monkeypatch.delenv("ALIA_JWKS_FILE", raising=False)
    result = runner.invoke(app, ["serve", "--port", "1"])
    assert result.exit_code == 2 and "E600" in result.output


def test_serve_rejects_invalid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIA_API_KEYS", "not json")
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    monkeypatch.setenv("ALIA_API_KEYS", f'[{{"sha256": "{hash_api_key("k")}"}}]')
    monkeypatch.setenv("ALIA_DEFAULT_OPERATOR", "surrogate")  # needs ALIA_SECRET
    monkeypatch.delenv("ALIA_SECRET", raising=False)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2 and "E013" in result.output


def test_public_metadata_and_openapi_are_opt_in() -> None:
    blank = lambda _s: spacy.blank("es")  # noqa: E731
    with running_server(key_settings(), blank) as base:
        assert httpx.get(base + "/fhir/metadata").status_code == 401
        assert httpx.get(base + "/openapi.json").status_code == 404
    with running_server(key_settings(public_metadata=True, openapi=True), blank) as base:
        assert httpx.get(base + "/fhir/metadata").json()["resourceType"] == "CapabilityStatement"
        assert "/fhir/DocumentReference/$analyze" in httpx.get(base + "/openapi.json").json()["paths"]
        assert httpx.get(base + "/fhir/OperationDefinition/analyze").status_code == 401
        assert httpx.get(base + "/fhir/OperationDefinition/analyze", headers=auth()).status_code == 200

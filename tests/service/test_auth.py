"""Authentication and authorization: API keys, JWTs against a JWKS, SMART scopes — unit checks
and each failure over HTTP (401 no/bad/expired token, 403 wrong scope)."""

from __future__ import annotations

from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from alia_clin.errors import AliaClinValueError
from alia_clin.service import ServiceSettings, create_app
from alia_clin.service.auth import Authenticator, hash_api_key, scope_allows
from alia_clin.service.outcome import ServiceError

from .conftest import (
    API_KEY,
    AUDIENCE,
    ISSUER,
    READ_ONLY_KEY,
    auth,
    document_reference,
    key_settings,
    make_token,
    running_server,
)


@pytest.mark.parametrize(
    ("scope", "action", "allowed"),
    [
        ("system/DocumentReference.read", "read", True),
        ("system/DocumentReference.read", "write", False),
        ("system/DocumentReference.write", "write", True),
        ("system/DocumentReference.*", "write", True),
        ("system/*.read", "read", True),
        ("system/*.*", "write", True),
        ("system/DocumentReference.rs", "read", True),
        ("system/DocumentReference.rs", "write", False),
        ("system/DocumentReference.cruds", "write", True),
        ("system/Observation.read", "read", False),
        ("patient/DocumentReference.read", "read", False),
        ("user/*.*", "read", False),
        ("system/DocumentReference.", "read", False),
        ("openid", "read", False),
    ],
)
def test_scope_grammar(scope: str, action: str, allowed: bool) -> None:
    assert scope_allows(scope, "DocumentReference", action) is allowed


def test_api_keys_are_matched_by_digest_only() -> None:
    settings = key_settings()
    assert all(API_KEY not in k.sha256 for k in settings.api_keys)
    authn = Authenticator(settings)
    principal = authn.authenticate(f"Bearer {API_KEY}")
    assert principal.kind == "api-key" and principal.name == "full"
    assert principal.allows("DocumentReference", "write")
    reader = authn.authenticate(f"Bearer {READ_ONLY_KEY}")
    assert reader.allows("DocumentReference", "read") and not reader.allows("DocumentReference", "write")
    for header in (None, "", "Basic abc", "Bearer", f"Bearer {API_KEY}x", f"bearer{API_KEY}"):
        with pytest.raises(ServiceError) as err:
            authn.authenticate(header)
        assert err.value.status == 401
        assert "Bearer" in err.value.headers["WWW-Authenticate"]


def test_service_refuses_to_start_without_auth() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E600\]"):
        create_app(ServiceSettings())
    with pytest.raises(AliaClinValueError, match=r"\[E601\]"):
        create_app(
            ServiceSettings(jwks_file="/nonexistent/jwks.json", jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
        )


def test_api_key_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = hash_api_key("from-env")
    monkeypatch.setenv("ALIA_API_KEYS", f'[{{"sha256": "{digest}", "scopes": "system/*.read"}}]')
    monkeypatch.setenv("ALIA_MAX_QUEUE", "3")
    settings = ServiceSettings()
    assert settings.api_keys[0].sha256 == digest and settings.max_queue == 3
    assert Authenticator(settings).authenticate("Bearer from-env").allows("DocumentReference", "read")


def _jwt_settings(jwks: Any) -> ServiceSettings:
    return ServiceSettings(jwks_file=jwks, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)


def test_jwt_claims_are_checked(jwt_keys: tuple[Any, Any]) -> None:
    private, jwks = jwt_keys
    authn = Authenticator(_jwt_settings(jwks))
    ok = authn.authenticate("Bearer " + make_token(private, client_id="engine-7"))
    assert ok.kind == "jwt" and ok.name == "engine-7"
    assert ok.allows("DocumentReference", "read")
    scp = authn.authenticate("Bearer " + make_token(private, scope=None, scp=["system/*.*"]))
    assert scp.allows("DocumentReference", "write")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bad = {
        "expired": make_token(private, ttl=-120),
        "wrong audience": make_token(private, aud="someone-else"),
        "wrong issuer": make_token(private, iss="https://evil.test"),
        "missing claim exp": make_token(private, exp=None),
        "signature or format not valid": make_token(other),
    }
    for reason, token in bad.items():
        with pytest.raises(ServiceError) as err:
            authn.authenticate(f"Bearer {token}")
        assert err.value.status == 401
        assert reason.split()[-1] in err.value.message or "expired" in err.value.message
    unsigned = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": 2**31}, key=None, algorithm="none")
    with pytest.raises(ServiceError):
        authn.authenticate(f"Bearer {unsigned}")


def _post(base: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{base}/fhir/DocumentReference/$analyze", json=document_reference(), headers=headers)


def _code(response: httpx.Response) -> str:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    return str(body["issue"][0]["details"]["coding"][0]["code"])


def test_http_auth_failures(jwt_keys: tuple[Any, Any], fake_mapping: None) -> None:
    private, jwks = jwt_keys
    settings = ServiceSettings(
        jwks_file=jwks,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        api_keys=[{"sha256": hash_api_key(API_KEY)}],
    )
    fhir_json = {"Content-Type": "application/fhir+json"}
    with running_server(settings, lambda _s: __import__("spacy").blank("es")) as base:
        no_token = _post(base, fhir_json)
        assert no_token.status_code == 401 and _code(no_token) == "E610"
        assert no_token.headers["www-authenticate"].startswith("Bearer")
        bad = _post(base, {**fhir_json, "Authorization": "Bearer not-a-key"})
        assert bad.status_code == 401 and _code(bad) == "E611"
        expired = _post(base, {**fhir_json, "Authorization": "Bearer " + make_token(private, ttl=-120)})
        assert expired.status_code == 401 and "expired" in expired.json()["issue"][0]["diagnostics"]
        wrong = make_token(private, scope="system/Observation.read patient/DocumentReference.read")
        forbidden = _post(base, {**fhir_json, "Authorization": f"Bearer {wrong}"})
        assert forbidden.status_code == 403 and _code(forbidden) == "E612"
        good = _post(base, {**fhir_json, "Authorization": "Bearer " + make_token(private)})
        assert good.status_code == 200 and good.json()["resourceType"] == "Bundle"
        assert _post(base, auth()).status_code == 200
        # metadata needs a token too (unless public_metadata), health does not
        assert httpx.get(f"{base}/fhir/metadata").status_code == 401
        assert httpx.get(f"{base}/fhir/metadata", headers=auth()).status_code == 200
        assert httpx.get(f"{base}/healthz").status_code == 200
        assert httpx.get(f"{base}/readyz").status_code == 200


def test_write_scope_needed_when_results_go_upstream(fake_mapping: None) -> None:
    settings = key_settings(fhir_upstream="http://127.0.0.1:9/fhir", upstream_retries=0)
    with running_server(settings, lambda _s: __import__("spacy").blank("es")) as base:
        response = _post(base, auth(READ_ONLY_KEY))
        assert response.status_code == 403 and "write" in response.json()["issue"][0]["diagnostics"]

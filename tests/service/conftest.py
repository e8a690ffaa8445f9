"""Fixtures of the service tests: real uvicorn servers on free loopback ports, API keys, a JWKS
with its signing key, synthetic FHIR inputs, and a stand-in for the FHIR mapping.

Servers run in a thread of the test process (``uvicorn.Server``), so a test may replace the
pipeline loader or the mapping adapter; ``test_cli_serve.py`` also starts ``alia-clin serve`` as
a separate process. All notes are synthetic.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt
import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from spacy.language import Language

from alia_clin.io.folders import NoteRecord
from alia_clin.service import ServiceSettings, create_app, fhir_adapter
from alia_clin.service.app import ModelLoader, default_loader
from alia_clin.service.auth import hash_api_key

API_KEY = "test-key-full-0123456789"
READ_ONLY_KEY = "test-key-read-0123456789"
ISSUER = "https://issuer.test"
AUDIENCE = "alia-clin-test"
NOTE = (
    "Paciente: Lucía Ferrán Oliva. NHC: 7788990. Fecha: 05/03/2024.\n"
    "Mujer de 68 años con disnea de esfuerzo. No refiere dolor torácico.\n"
    "FEVI 35 %. NT-proBNP 1800 pg/mL.\n"
)


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_server(
    settings: ServiceSettings, loader: ModelLoader = default_loader, *, wait_ready: bool = True
) -> Iterator[str]:
    """Run the app under uvicorn in a thread; yield its base URL (``http://127.0.0.1:PORT``)."""
    port = free_port()
    app = create_app(settings, loader=loader)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    if wait_ready:
        import httpx

        while httpx.get(f"{base}/readyz").status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not become ready")
            time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def key_settings(**overrides: Any) -> ServiceSettings:
    """Settings with the full-access and read-only API keys (plus ``overrides``)."""
    keys = [
        {"sha256": hash_api_key(API_KEY), "name": "full"},
        {"sha256": hash_api_key(READ_ONLY_KEY), "name": "read", "scopes": "system/DocumentReference.read"},
    ]
    return ServiceSettings(api_keys=keys, **overrides)


def auth(key: str = API_KEY) -> dict[str, str]:
    """Headers of an authenticated FHIR JSON request."""
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/fhir+json"}


def document_reference(text: str = NOTE, *, note_id: str = "note-1", language: str = "es") -> dict[str, Any]:
    """A DocumentReference carrying ``text`` as a base64 text/plain attachment."""
    return {
        "resourceType": "DocumentReference",
        "id": note_id,
        "status": "current",
        "subject": {"reference": "Patient/p-1"},
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "language": language,
                    "data": base64.b64encode(text.encode("utf-8")).decode("ascii"),
                }
            }
        ],
    }


# ------------------------------------------------------------------------- stand-in mapping


def _fake_notes(resource: dict[str, Any]) -> list[NoteRecord]:
    data = resource["content"][0]["attachment"]["data"]
    return [NoteRecord(resource.get("id", "x"), base64.b64decode(data).decode("utf-8"), language="es")]


def _fake_bundle(doc: Any, context: Any, *, config: Any, bundle_type: str) -> dict[str, Any]:
    phi = len(doc.spans.get("phi", [])) if hasattr(doc, "spans") else 0
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "identifier": [{"system": "urn:test", "value": f"{doc._.note_id}-phi"}],
        "code": {"text": "phi-count"},
        "valueInteger": phi,
    }
    entry: dict[str, Any] = {"fullUrl": "urn:uuid:7f6c7c39-0d3d-4c36-9f3b-0a9a8f3e4c11", "resource": obs}
    if bundle_type == "transaction":
        entry["request"] = {"method": "POST", "url": "Observation"}
    return {"resourceType": "Bundle", "type": bundle_type, "entry": [entry]}


def _fake_deid(doc: Any, source: Any, *, operator: str, config: Any) -> dict[str, Any]:
    return {"resourceType": "DocumentReference", "status": "current", "description": f"deid:{operator}"}


@pytest.fixture()
def fake_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the alia_clin.fhir calls with a minimal stand-in (tests of the HTTP layer only)."""
    monkeypatch.setattr(fhir_adapter, "notes_from_resource", _fake_notes)
    monkeypatch.setattr(fhir_adapter, "analysis_bundle", _fake_bundle)
    monkeypatch.setattr(fhir_adapter, "deidentified_reference", _fake_deid)
    monkeypatch.setattr(fhir_adapter, "mapping_config", lambda *a, **k: None)


def real_mapping_or_skip() -> None:
    """Skip when alia_clin.fhir does not (yet) provide the functions the service needs."""
    missing = fhir_adapter.mapping_available()
    if missing is not None:
        pytest.skip(f"FHIR mapping not available: {missing}")


# ------------------------------------------------------------------------- pipelines


@pytest.fixture(scope="session")
def rules_nlp() -> Language:
    """The embedded default (rules) pipeline, loaded once."""
    import alia_clin

    return alia_clin.load()


def blocking_loader(gate: threading.Event, entered: threading.Event | None = None) -> ModelLoader:
    """A loader whose pipeline blocks in every call until ``gate`` is set (``entered`` is set
    when a call starts)."""

    def load(_settings: ServiceSettings) -> Language:
        import spacy

        nlp = spacy.blank("es")
        name = f"block_{id(gate)}"

        @Language.component(name)
        def block(doc: Any) -> Any:
            if entered is not None:
                entered.set()
            gate.wait(30)
            return doc

        nlp.add_pipe(name)
        return nlp

    return load


def loader_of(nlp: Language) -> ModelLoader:
    """A loader that returns an already loaded pipeline."""
    return lambda _settings: nlp


# ------------------------------------------------------------------------- JWT


@pytest.fixture(scope="session")
def jwt_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """An RSA signing key and a JWKS file (kid ``k1``) holding its public half."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}), encoding="utf-8")
    return private, path


def make_token(
    private: Any, *, scope: str = "system/DocumentReference.read", ttl: float = 300, **claims: Any
) -> str:
    """A signed JWT for the test issuer/audience (``ttl`` < 0 gives an expired token)."""
    now = int(time.time())
    payload = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "client-1",
        "iat": now,
        "exp": now + int(ttl),
        "scope": scope,
    }
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, private, algorithm="RS256", headers={"kid": "k1"})


Request = Callable[..., Any]

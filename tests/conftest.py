"""Shared fixtures. Every test runs with the network blocked except loopback.

alia_clin must never download anything at run time (spaCy, presidio, tldextract and
transformers all try to): any non-loopback connection attempt fails the test that made it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPORA = Path(os.environ.get("ALIA_CLIN_CORPORA", REPO.parent / "shared" / "corpora"))

# The suite runs the default loader (``alia_clin.load()``, ``alia-clin process`` without
# ``--model``, the service, Spark workers) on the rules-only pipeline: the shipped default, the
# encoder pipeline, is two orders of magnitude slower on a CPU and has its own tests
# (tests/test_shipped_encoder_model.py, test_load.py). Set ALIA_CLIN_MODEL to run the suite on
# another pipeline. Set at import so subprocesses inherit it.
os.environ.setdefault("ALIA_CLIN_MODEL", str(REPO / "models" / "alia-clin-rules"))

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to reach a non-loopback address."""


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else None
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(str(host)).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise NetworkBlocked(f"network access attempted: {address!r}")
    _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise NetworkBlocked(f"network access attempted: {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    yield


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The shared corpora folder; tests that need it are skipped when it is absent."""
    if not (CORPORA / "meddocan").is_dir():
        pytest.skip("shared corpora not available")
    return CORPORA


SYNTHETIC_NOTE = (
    "Paciente: Marta Ibarra Soler. DNI: 12345678Z. NHC: 4455667.\n"
    "Fecha de ingreso: 03/02/2024. Edad: 71 años. Sexo: M.\n"
    "Domicilio: Calle Mayor 12, 3º B, 28013 Madrid. Tel.: 612 345 678.\n"
    "Correo: marta.ibarra@example.org\n"
    "Mujer de 71 años con disnea de esfuerzo y edemas maleolares.\n"
    "Médico: Dr. Joan Puig Ferrer. Nº Col.: 28 28 12345.\n"
)


@pytest.fixture()
def synthetic_note() -> str:
    """A short synthetic note with several identifier types (all invented)."""
    return SYNTHETIC_NOTE

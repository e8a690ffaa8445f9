"""Settings of the FHIR integration service, read from the environment (prefix ``ALIA_``) or
given by ``alia-clin serve`` options.

Reads environment variables such as ``ALIA_MODEL``, ``ALIA_API_KEYS``, ``ALIA_JWKS_FILE``,
``ALIA_MAX_BODY_BYTES`` …; writes nothing. List and dict fields take JSON in the environment
(``ALIA_API_KEYS='[{"sha256": "…", "scopes": "system/*.read"}]'``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ..deid.anonymize import OPERATORS
from ..errors import AliaClinValueError, ErrorCode

#: The de-identification operators the service may ever offer.
SERVICE_OPERATORS = ("tag", "mask", "redact", "surrogate")


class ApiKey(BaseModel):
    """One static API key, stored only as the SHA-256 hex digest of the key."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: Space-separated SMART scopes granted to the key (default: everything).
    scopes: str = "system/*.*"
    #: A label for the access log (never the key itself).
    name: str = "api-key"


class ServiceSettings(BaseSettings):
    """Everything ``alia-clin serve`` can be configured with."""

    model_config = SettingsConfigDict(env_prefix="ALIA_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    #: Pipeline directory; None = the embedded default pipeline (``alia_clin.load()``).
    model: str | None = None

    # --- authentication
    api_keys: list[ApiKey] = Field(default_factory=list)
    jwks_file: Path | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256"])
    jwt_leeway_s: float = Field(default=30.0, ge=0)
    #: Serve ``GET /fhir/metadata`` without a token (SMART discovery); off by default.
    public_metadata: bool = False

    # --- limits
    max_body_bytes: int = Field(default=1_000_000, ge=1)
    request_timeout_s: float = Field(default=30.0, gt=0)
    #: Requests processed at the same time (worker threads).
    max_concurrency: int = Field(default=2, ge=1)
    #: Requests allowed to wait for a worker; one more gets 429.
    max_queue: int = Field(default=16, ge=0)
    max_batch_entries: int = Field(default=50, ge=1)

    # --- de-identification policy
    allowed_operators: list[str] = Field(default_factory=lambda: ["tag", "mask", "redact", "surrogate"])
    default_operator: str = "tag"
    #: Key of the surrogate operator (``surrogate`` is refused without it).
    secret: str | None = None

    # --- output
    fhir_version: str = "R4"
    #: What transaction ``ifNoneExist`` searches on: ``identifier`` (standard) or ``tag``
    #: (``_tag``, for servers without identifier search on every type, e.g. sekmet-fhir 0.1).
    conditional_key: Literal["identifier", "tag"] = "identifier"

    # --- upstream write-back
    fhir_upstream: str | None = None
    upstream_token: str | None = None
    upstream_retries: int = Field(default=3, ge=0, le=10)
    upstream_backoff_s: float = Field(default=0.5, ge=0)
    upstream_timeout_s: float = Field(default=10.0, gt=0)

    # --- HTTP
    #: Serve the OpenAPI schema at ``/openapi.json`` (without a token); off by default.
    openapi: bool = False
    #: Origins allowed by CORS; empty (the default) = CORS off.
    cors_origins: list[str] = Field(default_factory=list)

    @field_validator("allowed_operators")
    @classmethod
    def _known_operators(cls, value: list[str]) -> list[str]:
        for op in value:
            if op not in SERVICE_OPERATORS or op not in OPERATORS:
                raise ValueError(f"unknown operator {op!r}; choose from {', '.join(SERVICE_OPERATORS)}")
        return value

    @field_validator("fhir_version")
    @classmethod
    def _known_version(cls, value: str) -> str:
        if value not in ("R4", "R5"):
            raise ValueError("fhir_version must be R4 or R5")
        return value

    @model_validator(mode="after")
    def _default_allowed(self) -> ServiceSettings:
        if self.default_operator not in self.allowed_operators:
            raise ValueError("default_operator must be one of allowed_operators")
        return self

    @property
    def auth_configured(self) -> bool:
        """True when at least one way to authenticate callers is configured."""
        return bool(self.api_keys) or self.jwks_file is not None

    def check(self) -> None:
        """Refuse configurations that would run an open or broken service (coded errors)."""
        if self.default_operator == "surrogate" and not self.secret:
            raise AliaClinValueError(ErrorCode.E013)
        if not self.auth_configured:
            raise AliaClinValueError(ErrorCode.E600)
        if self.jwks_file is not None:
            if not self.jwks_file.is_file():
                raise AliaClinValueError(ErrorCode.E601, path=str(self.jwks_file))
            if not self.jwt_issuer or not self.jwt_audience:
                raise AliaClinValueError(ErrorCode.E602)

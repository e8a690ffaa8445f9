"""Bearer-token authentication and SMART-style scope checks.

Reads the ``Authorization`` header and the settings' API-key digests / JWKS file; writes nothing.
Two kinds of token are accepted:

- static API keys, configured only as SHA-256 digests and compared in constant time against the
  digest of the presented token (every configured digest is compared, no early exit);
- JWTs signed by a key of the configured JWKS file, with the configured issuer and audience and
  an expiry (``exp`` is required), carrying SMART scopes in ``scope`` (space-separated) or ``scp``.

Scopes follow SMART v1 (``system/DocumentReference.read``, ``.write``, ``.*``, ``system/*.*``)
and v2 (``system/DocumentReference.rs``, ``.cruds``). Only the ``system/`` context is honoured:
this is a backend service with no user or patient launch context.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from ..errors import AliaClinValueError, ErrorCode
from .outcome import ServiceError
from .settings import ServiceSettings

_BEARER = re.compile(r"^Bearer +([A-Za-z0-9\-._~+/]+=*) *$")
_SCOPE = re.compile(r"^system/([A-Za-z]+|\*)\.(\*|read|write|c?r?u?d?s?)$")
#: Actions of the service → SMART v2 permission letters that grant them.
_V2_LETTERS = {"read": "r", "write": "c"}
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="alia-clin"'}


@dataclass(frozen=True)
class Principal:
    """Who called: ``kind`` (api-key / jwt), a non-secret ``name`` and the granted scopes."""

    kind: str
    name: str
    scopes: frozenset[str]

    def allows(self, resource: str, action: str) -> bool:
        """True when one of the scopes grants ``action`` (read/write) on ``resource``."""
        return any(scope_allows(s, resource, action) for s in self.scopes)


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest stored in the configuration for the API key ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def scope_allows(scope: str, resource: str, action: str) -> bool:
    """Does the SMART scope ``scope`` grant ``action`` (``read``/``write``) on ``resource``?"""
    match = _SCOPE.match(scope)
    if not match:
        return False
    res, perm = match.groups()
    if res not in ("*", resource) or not perm:
        return False
    if perm in ("*", action):
        return True
    return perm not in ("read", "write") and _V2_LETTERS[action] in perm


def _unauthorized(code: ErrorCode, reason: str | None = None) -> ServiceError:
    fields = {"reason": reason} if reason is not None else {}
    return ServiceError(401, code, "login", headers=dict(_CHALLENGE), **fields)


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal` or a 401 ServiceError."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._keys = [(bytes.fromhex(k.sha256), k) for k in settings.api_keys]
        self._jwks: jwt.PyJWKSet | None = None
        if settings.jwks_file is not None:
            self._jwks = load_jwks(settings.jwks_file)
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._algorithms = list(settings.jwt_algorithms)
        self._leeway = settings.jwt_leeway_s

    def authenticate(self, authorization: str | None) -> Principal:
        """Check the header; raise a 401 ServiceError (E610/E611) when it does not authenticate."""
        match = _BEARER.match(authorization or "")
        if not match:
            raise _unauthorized(ErrorCode.E610)
        token = match.group(1)
        if token.count(".") == 2 and self._jwks is not None:
            return self._verify_jwt(token)
        principal = self._match_key(token)
        if principal is None:
            raise _unauthorized(ErrorCode.E611, reason="unknown token")
        return principal

    def _match_key(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        found: Principal | None = None
        for stored, key in self._keys:  # compare against every key: timing does not tell which
            if hmac.compare_digest(digest, stored) and found is None:
                found = Principal("api-key", key.name, frozenset(key.scopes.split()))
        return found

    def _verify_jwt(self, token: str) -> Principal:
        assert self._jwks is not None
        try:
            header = jwt.get_unverified_header(token)
            key = self._select_key(header)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise _unauthorized(ErrorCode.E611, reason="token expired") from None
        except jwt.InvalidAudienceError:
            raise _unauthorized(ErrorCode.E611, reason="wrong audience") from None
        except jwt.InvalidIssuerError:
            raise _unauthorized(ErrorCode.E611, reason="wrong issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise _unauthorized(ErrorCode.E611, reason=f"missing claim {exc.claim}") from None
        except (jwt.InvalidTokenError, jwt.PyJWKError, KeyError):
            raise _unauthorized(ErrorCode.E611, reason="signature or format not valid") from None
        raw = claims.get("scope", claims.get("scp", ""))
        scopes = raw.split() if isinstance(raw, str) else [str(s) for s in raw or []]
        name = str(claims.get("client_id") or claims.get("azp") or "jwt")
        return Principal("jwt", name, frozenset(scopes))

    def _select_key(self, header: dict[str, Any]) -> jwt.PyJWK:
        assert self._jwks is not None
        kid = header.get("kid")
        if kid is not None:
            return self._jwks[str(kid)]
        if len(self._jwks.keys) == 1:
            return self._jwks.keys[0]
        raise KeyError("kid")


def load_jwks(path: Path) -> jwt.PyJWKSet:
    """Read a JWK set (``{"keys": [...]}``) from ``path``; raise E603 when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return jwt.PyJWKSet.from_dict(data)
    except (OSError, ValueError, jwt.PyJWKSetError, jwt.PyJWKError) as exc:
        raise AliaClinValueError(ErrorCode.E603, path=str(path), reason=exc.__class__.__name__) from None


def require_scope(principal: Principal, resource: str, action: str) -> None:
    """Raise a 403 ServiceError (E612) unless ``principal`` may ``action`` ``resource``."""
    if not principal.allows(resource, action):
        raise ServiceError(403, ErrorCode.E612, "forbidden", required=f"system/{resource}.{action}")

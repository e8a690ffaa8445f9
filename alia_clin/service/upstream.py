"""Write results back to the customer's FHIR server (``--fhir-upstream URL``).

Reads a transaction Bundle made by the FHIR mapping; POSTs it to the upstream base URL with
httpx, retrying connection errors, timeouts, 429 and 5xx with exponential backoff. Every
``POST`` entry is a conditional create (``request.ifNoneExist`` on the resource identifier), so a
retry after a lost response never creates duplicates. Returns an :class:`UpstreamResult`;
logs only counts, statuses and attempt numbers.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from .outcome import FHIR_JSON

log = logging.getLogger("alia_clin")
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class UpstreamResult:
    """What happened upstream: ``status`` is ``written`` or ``failed``."""

    status: str
    attempts: int
    http_status: int | None = None
    created: int = 0
    existing: int = 0
    reason: str | None = None

    def header(self) -> str:
        """The ``X-Alia-Upstream`` response header value."""
        parts = [self.status, f"attempts={self.attempts}"]
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        if self.status == "written":
            parts += [f"created={self.created}", f"existing={self.existing}"]
        return "; ".join(parts)

    def issue(self) -> dict[str, Any]:
        """An OperationOutcome issue describing the write (no resource content)."""
        if self.status == "written":
            text = (
                f"Upstream write succeeded after {self.attempts} attempt(s): "
                f"{self.created} created, {self.existing} already present."
            )
            return {"severity": "information", "code": "informational", "diagnostics": text}
        text = f"[E640] Upstream FHIR server write failed after {self.attempts} attempts: {self.reason}."
        return {"severity": "warning", "code": "transient", "diagnostics": text}


def _search_value(value: str) -> str:
    return quote(value, safe="")


def make_conditional(bundle: dict[str, Any]) -> dict[str, Any]:
    """The transaction Bundle with ``ifNoneExist`` on every POST entry whose resource has an
    identifier (entries that already have one keep it)."""
    entries = []
    for entry in bundle.get("entry", []):
        request = dict(entry.get("request") or {})
        resource = entry.get("resource") or {}
        if request.get("method") == "POST" and not request.get("ifNoneExist"):
            ident = next(
                (i for i in resource.get("identifier", []) or [] if i.get("system") and i.get("value")), None
            )
            if ident is not None:
                request["ifNoneExist"] = (
                    f"identifier={_search_value(ident['system'])}|{_search_value(ident['value'])}"
                )
        entries.append({**entry, "request": request} if request else entry)
    return {**bundle, "type": "transaction", "entry": entries}


def _count(response: dict[str, Any]) -> tuple[int, int]:
    created = existing = 0
    for entry in response.get("entry", []) or []:
        status = str((entry.get("response") or {}).get("status", ""))
        if status.startswith("201"):
            created += 1
        elif status.startswith("200"):
            existing += 1
    return created, existing


class UpstreamWriter:
    """POSTs transaction Bundles to ``base_url`` with retries and backoff."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        retries: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        headers = {"Content-Type": FHIR_JSON, "Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_s = backoff_s
        self._client = httpx.AsyncClient(headers=headers, timeout=timeout_s, transport=transport)

    async def write(self, bundle: dict[str, Any]) -> UpstreamResult:
        """POST ``bundle`` (made conditional) to the upstream base; never raises for upstream faults."""
        payload = make_conditional(bundle)
        attempt = 0
        reason = "no attempt"
        status: int | None = None
        while attempt <= self.retries:
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            attempt += 1
            try:
                response = await self._client.post(self.base_url, json=payload)
            except httpx.TimeoutException:
                reason, status = "timeout", None
                log.warning("upstream write attempt %d: timeout", attempt)
                continue
            except httpx.TransportError as exc:
                reason, status = f"connection error ({exc.__class__.__name__})", None
                log.warning("upstream write attempt %d: %s", attempt, exc.__class__.__name__)
                continue
            status = response.status_code
            if response.is_success:
                try:
                    created, existing = _count(response.json())
                except ValueError:
                    created = existing = 0
                log.info("upstream write ok: status %d, %d created, %d existing", status, created, existing)
                return UpstreamResult("written", attempt, status, created, existing)
            reason = f"HTTP {status}"
            log.warning("upstream write attempt %d: HTTP %d", attempt, status)
            if status not in _RETRY_STATUSES:
                break
        return UpstreamResult("failed", attempt, status, reason=reason)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._client.aclose()

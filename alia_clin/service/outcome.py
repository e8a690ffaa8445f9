"""FHIR OperationOutcome errors of the service.

Every error the service returns is an OperationOutcome whose text comes from a coded
``alia_clin`` message (ids, sizes, counts, never note text). :class:`ServiceError` carries the
HTTP status, the FHIR issue type and optional headers; :func:`outcome` builds the resource.
"""

from __future__ import annotations

from typing import Any

from ..errors import ErrorCode

FHIR_JSON = "application/fhir+json"
ISSUE_SYSTEM = "https://alia-clin.org/fhir/CodeSystem/error-code"


def outcome(
    severity: str,
    issue_type: str,
    diagnostics: str,
    *,
    code: str | None = None,
    expression: str | None = None,
) -> dict[str, Any]:
    """An OperationOutcome with one issue (``code`` = the alia_clin error code, e.g. ``E620``)."""
    issue: dict[str, Any] = {"severity": severity, "code": issue_type, "diagnostics": diagnostics}
    if code:
        issue["details"] = {"coding": [{"system": ISSUE_SYSTEM, "code": code}]}
    if expression:
        issue["expression"] = [expression]
    return {"resourceType": "OperationOutcome", "issue": [issue]}


class ServiceError(Exception):
    """An error answered as an OperationOutcome with an HTTP status.

    ``fields`` fill the coded message template and must never hold note text.
    """

    def __init__(
        self,
        status: int,
        code: ErrorCode,
        issue_type: str,
        *,
        headers: dict[str, str] | None = None,
        expression: str | None = None,
        **fields: object,
    ) -> None:
        self.status = status
        self.code = code.name
        self.issue_type = issue_type
        self.headers = headers or {}
        self.expression = expression
        self.message = f"[{code.name}] " + code.value.format(**fields)
        super().__init__(self.message)

    def to_outcome(self) -> dict[str, Any]:
        """The OperationOutcome answered for this error."""
        return outcome("error", self.issue_type, self.message, code=self.code, expression=self.expression)


def unprocessable(reason: str, *, expression: str | None = None) -> ServiceError:
    """422: valid JSON that is not acceptable FHIR for the operation (``reason`` has no note text)."""
    return ServiceError(422, ErrorCode.E623, "processing", expression=expression, reason=reason)

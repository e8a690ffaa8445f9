"""Validate resource dicts with the fhir.resources models (``fhir.resources.R4B`` for R4 wire
format, ``fhir.resources`` for R5).

Reads resource dicts; raises ``E402`` with the resource type, id and the failing element paths
and error kinds only (pydantic's messages can echo input values, i.e. note text, so they are
never used).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from ..errors import AliaClinValueError, ErrorCode

VERSIONS = ("R4", "R5")


def check_version(version: str) -> str:
    """Return ``version`` if supported, else raise E401."""
    if version not in VERSIONS:
        raise AliaClinValueError(ErrorCode.E401, version=version, choices=", ".join(VERSIONS))
    return version


@lru_cache(maxsize=128)
def model_class(version: str, resource_type: str) -> Any:
    """The fhir.resources model class of ``resource_type`` for ``version``."""
    check_version(version)
    if version == "R4":
        from fhir.resources.R4B import get_fhir_model_class as get_r4

        return get_r4(resource_type)
    from fhir.resources import get_fhir_model_class as get_r5

    return get_r5(resource_type)


def _reason(exc: ValidationError) -> str:
    items = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()))
        items.append(f"{loc or '(root)'} [{err.get('type')}]")
    more = len(exc.errors()) - len(items)
    return "; ".join(items) + (f" (+{more} more)" if more > 0 else "")


def validate_resource(resource: dict[str, Any], version: str = "R4") -> None:
    """Raise E402 unless ``resource`` validates with its ``version`` model."""
    rtype = str(resource.get("resourceType") or "")
    rid = str(resource.get("id") or "")
    try:
        cls = model_class(version, rtype)
    except (KeyError, ValueError, ImportError, AttributeError):
        raise AliaClinValueError(
            ErrorCode.E402,
            version=version,
            resource_type=rtype or "?",
            resource_id=rid,
            reason="unknown type",
        ) from None
    try:
        cls.model_validate(resource)
    except ValidationError as exc:
        raise AliaClinValueError(
            ErrorCode.E402, version=version, resource_type=rtype, resource_id=rid, reason=_reason(exc)
        ) from None
    except (ValueError, TypeError) as exc:
        raise AliaClinValueError(
            ErrorCode.E402, version=version, resource_type=rtype, resource_id=rid, reason=type(exc).__name__
        ) from None


def validate_bundle(bundle: dict[str, Any], version: str = "R4") -> None:
    """Validate every entry's resource, then the Bundle itself (E402 on the first failure)."""
    for entry in bundle.get("entry") or []:
        if isinstance(entry.get("resource"), dict):
            validate_resource(entry["resource"], version)
    validate_resource(bundle, version)

"""Small helpers shared by the FHIR tests."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any


def walk_strings(node: Any) -> Iterator[str]:
    """Every string value (and dict key) in a JSON tree."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_strings(v)
    elif isinstance(node, str):
        yield node


def walk_references(node: Any) -> Iterator[str]:
    """Every ``reference`` string in a JSON tree."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node["reference"]
        for v in node.values():
            yield from walk_references(v)
    elif isinstance(node, list):
        for v in node:
            yield from walk_references(v)


def by_type(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def attachment_text(bundle: dict[str, Any]) -> str:
    (docref,) = by_type(bundle, "DocumentReference")
    return base64.b64decode(docref["content"][0]["attachment"]["data"]).decode("utf-8")


def derivation(resource: dict[str, Any]) -> dict[str, Any]:
    ext = next(e for e in resource["extension"] if e["url"].endswith("derivation-reference"))
    out: dict[str, Any] = {}
    for sub in ext["extension"]:
        out[sub["url"]] = next(v for k, v in sub.items() if k.startswith("value"))
    return out


def assertion(resource: dict[str, Any]) -> str | None:
    return next(
        (e["valueCode"] for e in resource.get("extension", []) if e["url"].endswith("assertion")), None
    )

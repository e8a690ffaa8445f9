"""``POST /fhir``: a batch or transaction Bundle whose entries call ``$analyze`` / ``$deidentify``.

Each entry is ``request.method`` POST, ``request.url`` ``DocumentReference/$analyze`` or
``DocumentReference/$deidentify[?operator=…]`` (a bare ``DocumentReference`` URL means
``$analyze``) and a ``resource`` (DocumentReference or Parameters). Reads the decoded Bundle;
returns one :class:`BatchItem` per entry, in order, with either a resource or a ServiceError.
A bad entry never stops the others (for a transaction the route fails the whole request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .engine import Engine
from .inputs import parse_analyze, parse_deidentify
from .outcome import ServiceError, unprocessable

_OPERATIONS = {
    "DocumentReference/$analyze": "analyze",
    "DocumentReference": "analyze",
    "DocumentReference/$deidentify": "deidentify",
}


@dataclass
class BatchEntry:
    """One parsed entry: the operation, its body, its ``?operator=`` or an error found early."""

    operation: str | None
    body: Any
    operator: str | None = None
    error: ServiceError | None = None


@dataclass
class BatchItem:
    """One result: the output resource (and upstream transaction Bundle) or the error."""

    resource: dict[str, Any] | None = None
    transaction: dict[str, Any] | None = None
    error: ServiceError | None = None


def _entry(i: int, entry: object) -> BatchEntry:
    where = f"Bundle.entry[{i}]"
    if not isinstance(entry, dict):
        return BatchEntry(None, None, error=unprocessable("an entry is not an object", expression=where))
    request = entry.get("request")
    if (
        not isinstance(request, dict)
        or request.get("method") != "POST"
        or not isinstance(request.get("url"), str)
    ):
        return BatchEntry(
            None,
            None,
            error=unprocessable("entry.request must be POST with a url", expression=f"{where}.request"),
        )
    url = urlsplit(request["url"])
    path = url.path.strip("/").removeprefix("fhir/")
    operation = _OPERATIONS.get(path)
    if operation is None:
        return BatchEntry(
            None,
            None,
            error=unprocessable(
                "entry.request.url names no supported operation", expression=f"{where}.request.url"
            ),
        )
    operators = parse_qs(url.query).get("operator")
    return BatchEntry(operation, entry.get("resource"), operator=operators[0] if operators else None)


def parse_batch(body: object, max_entries: int) -> list[BatchEntry]:
    """Check the Bundle (type batch/transaction, 1..max_entries entries) and parse each entry."""
    if not isinstance(body, dict) or body.get("resourceType") != "Bundle":
        raise unprocessable("POST /fhir takes a Bundle", expression="resourceType")
    if body.get("type") not in ("batch", "transaction"):
        raise unprocessable("the Bundle type must be batch or transaction", expression="Bundle.type")
    entries = body.get("entry")
    if not isinstance(entries, list) or not entries:
        raise unprocessable("the Bundle has no entries", expression="Bundle.entry")
    if len(entries) > max_entries:
        raise unprocessable(
            f"the Bundle has {len(entries)} entries; the limit is {max_entries}", expression="Bundle.entry"
        )
    return [_entry(i, e) for i, e in enumerate(entries)]


def _run_one(engine: Engine, entry: BatchEntry, upstream: bool) -> BatchItem:
    if entry.operation == "deidentify":
        parsed = parse_deidentify(entry.body, entry.operator)
        return BatchItem(resource=engine.deidentify(parsed.resource, engine.check_operator(parsed.operator)))
    analyzed = parse_analyze(entry.body)
    collection, transaction = engine.analyze(analyzed.resource, analyzed.context, with_transaction=upstream)
    return BatchItem(resource=collection, transaction=transaction)


def run_batch(engine: Engine, entries: list[BatchEntry], *, upstream: bool) -> list[BatchItem]:
    """Run every entry (blocking; call it in a worker thread). Errors stay per entry."""
    items = []
    for i, entry in enumerate(entries):
        if entry.error is not None:
            items.append(BatchItem(error=entry.error))
            continue
        try:
            item = _run_one(engine, entry, upstream)
        except ServiceError as exc:
            where = f"Bundle.entry[{i}]"
            exc.expression = f"{where}.resource.{exc.expression}" if exc.expression else where
            item = BatchItem(error=exc)
        items.append(item)
    return items

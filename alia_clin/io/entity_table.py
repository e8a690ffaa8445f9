"""The entity table: one row per PHI span or clinical entity of a processed Doc.

Reads ``doc.spans["phi"]``, ``doc.ents`` and ``doc.spans["nested_entities"]`` (``kb_id_``,
``span._.codings``, ``span._.assertion``) and ``doc._.note_id``; writes nothing to the Doc.
Columns (fixed, in this order): ``note_id``, ``kind`` (``phi`` | ``entity``), ``label``,
``start``, ``end`` (character offsets into the note), ``text`` (only where the PHI policy
allows, else empty: under ``entities`` a clinical entity that overlaps a PHI span, e.g. a name
the entity model took for a finding, has no text either), ``assertion``, ``code``
(``system:code`` of the main coding) and ``codings`` (every coding as ``system|code``, ``;``
joined). The same rows feed the batch entity table (CSV/Parquet) and the Spark adapter.
"""

from __future__ import annotations

from typing import Any

from spacy.tokens import Doc, Span

from ..entities import entity_spans
from ..errors import AliaClinValueError, ErrorCode
from .writers import phi_spans

ENTITY_COLUMNS = ("note_id", "kind", "label", "start", "end", "text", "assertion", "code", "codings")
#: ``--entity-text`` policies: which span texts the table may hold.
TEXT_POLICIES = ("none", "entities", "all")


def check_text_policy(policy: str) -> None:
    """Raise E507 unless ``policy`` is one of :data:`TEXT_POLICIES`."""
    if policy not in TEXT_POLICIES:
        raise AliaClinValueError(
            ErrorCode.E507, option="entity-text", reason=f"choose one of {TEXT_POLICIES}"
        )


def _codings(span: Span) -> str:
    if not span.has_extension("codings") or not span._.codings:
        return ""
    items = span._.codings.get("codings", []) if isinstance(span._.codings, dict) else []
    parts = []
    for c in items:
        if isinstance(c, dict) and c.get("code"):
            parts.append(f"{c.get('system', '')}|{c['code']}")
    return ";".join(parts)


def _assertion(span: Span) -> str:
    if span.has_extension("assertion") and span._.assertion:
        return str(span._.assertion)
    return ""


def _may_show(ent: Span, phi: list[tuple[int, int]], text_policy: str) -> bool:
    """Whether the table may hold the text of clinical entity ``ent`` under ``text_policy``."""
    if text_policy == "all":
        return True
    return text_policy == "entities" and not any(s < ent.end_char and ent.start_char < e for s, e in phi)


def entity_rows(doc: Doc, *, text_policy: str = "none") -> list[dict[str, Any]]:
    """The table rows of ``doc`` (see the module docstring), PHI first, then entities."""
    note_id = str(doc._.note_id) if doc.has_extension("note_id") and doc._.note_id is not None else ""
    rows: list[dict[str, Any]] = []
    phi_group = phi_spans(doc)
    phi = [(span.start_char, span.end_char) for span in phi_group]
    for span in phi_group:
        rows.append(
            {
                "note_id": note_id,
                "kind": "phi",
                "label": span.label_,
                "start": span.start_char,
                "end": span.end_char,
                "text": span.text if text_policy == "all" else "",
                "assertion": "",
                "code": "",
                "codings": "",
            }
        )
    for ent in entity_spans(doc):
        rows.append(
            {
                "note_id": note_id,
                "kind": "entity",
                "label": ent.label_,
                "start": ent.start_char,
                "end": ent.end_char,
                "text": ent.text if _may_show(ent, phi, text_policy) else "",
                "assertion": _assertion(ent),
                "code": ent.kb_id_ or "",
                "codings": _codings(ent),
            }
        )
    return rows


def arrow_schema() -> Any:
    """The pyarrow schema of the table (needs pyarrow)."""
    import pyarrow as pa

    return pa.schema(
        [
            ("note_id", pa.string()),
            ("kind", pa.string()),
            ("label", pa.string()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("text", pa.string()),
            ("assertion", pa.string()),
            ("code", pa.string()),
            ("codings", pa.string()),
        ]
    )

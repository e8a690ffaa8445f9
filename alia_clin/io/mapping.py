"""Turn one source row (a mapping of column → value) into a :class:`NoteRecord`.

Reads the columns named in :class:`ReaderOptions`; the original row travels in
``record.meta["row"]`` so a de-identified copy of the export can be written. A text value written
in RTF, HTML or HL7 CDA is converted to plain text per ``ReaderOptions.markup``
(``record.meta["markup"]`` says which). Bad rows become records with ``error``/``error_code`` set
(reasons name columns and positions, never text).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from .folders import NoteRecord
from .markup import detect_markup, to_plain_text
from .options import ReaderOptions

#: Stable reason codes of bad records (``errors.jsonl`` ``code``).
EMPTY = "empty"
INVALID_ENCODING = "invalid_encoding"
MALFORMED = "malformed"
MISSING_TEXT = "missing_text"
MISSING_ID = "missing_id"


def _has_surrogates(value: str) -> bool:
    """True when ``value`` holds bytes that did not decode (``surrogateescape``)."""
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _as_optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def fallback_id(position: str) -> str:
    """The id of a record whose id column is empty or unreadable: its position, e.g. ``row-12``."""
    return "-".join(position.split()[:2])


def record_from_row(row: Mapping[str, Any], options: ReaderOptions, position: str) -> NoteRecord:
    """Map one row to a record (see the module docstring)."""
    raw_id = row.get(options.id_col)
    note_id = _as_optional_str(raw_id)
    meta: dict[str, Any] = {"row": dict(row)}
    if note_id is None:
        return NoteRecord(
            fallback_id(position), None, "empty id column", MISSING_ID, position=position, meta=meta
        )
    if _has_surrogates(note_id):
        return NoteRecord(
            fallback_id(position),
            None,
            f"invalid bytes in column '{options.id_col}'",
            INVALID_ENCODING,
            position=position,
            meta=meta,
        )
    base: dict[str, Any] = {
        "patient_id": _as_optional_str(row.get(options.patient_col)) if options.patient_col else None,
        "date": _as_optional_str(row.get(options.date_col)) if options.date_col else None,
        "language": _as_optional_str(row.get(options.lang_col)) if options.lang_col else None,
        "position": position,
        "meta": meta,
    }
    for key in ("patient_id", "date", "language"):
        if base[key] is not None and _has_surrogates(base[key]):
            base[key] = None
    text = row.get(options.text_col)
    if text is None:
        return NoteRecord(note_id, None, f"no value in column '{options.text_col}'", MISSING_TEXT, **base)
    if not isinstance(text, str):
        return NoteRecord(note_id, None, f"column '{options.text_col}' is not text", MALFORMED, **base)
    if _has_surrogates(text):
        return NoteRecord(
            note_id, None, f"invalid bytes in column '{options.text_col}'", INVALID_ENCODING, **base
        )
    try:
        text, markup = to_plain_text(text, options.markup)
    except ValueError:  # UnicodeDecodeError and CdaError included
        kind = detect_markup(text) if options.markup == "auto" else options.markup
        reason = f"column '{options.text_col}' is not valid {str(kind).upper()}"
        return NoteRecord(note_id, None, reason, MALFORMED, **base)
    if markup is not None:
        meta["markup"] = markup
    if not text.strip():
        return NoteRecord(note_id, text, "empty note", EMPTY, **base)
    return NoteRecord(note_id, text, **base)

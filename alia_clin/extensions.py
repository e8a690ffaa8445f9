"""Doc/Span extension attributes used by alia_clin, installed idempotently.

Every value is msgpack-serializable (str, numbers, lists, dicts) so that ``Doc.to_bytes``
round-trips them. Set ``doc._.note_id``/``doc._.patient_id`` before processing to get
patient-consistent surrogates; they are never written into logs.
"""

from __future__ import annotations

from spacy.tokens import Doc

_DOC_EXTENSIONS: dict[str, object] = {
    "note_id": None,  # str | None: the document id (file stem, record id)
    "patient_id": None,  # str | None: the patient key used for consistent surrogates
    "language": None,  # str | None: es / ca / eu / gl when known
    "note_date": None,  # str | None: ISO 8601 date of the note when the source gives it
    # Heart-failure risk (alia_hf_risk). hf_risk: {"probability": float, "level": "low" |
    # "moderate" | "high", "thresholds": {"moderate": float, "high": float}, "model": str,
    # "version": str, "setting": str}. hf_evidence: list of {"criterion": str, "group": str,
    # "start": int, "end": int, "assertion": str, "value": float | None, "unit": str | None,
    # "contribution": float, "codings": list[{"system", "code", "display"}]} ordered by
    # contribution (largest first); offsets index doc.text. alia_hf_risk also writes "display"
    # and "source" (text | measurement | entity | context); context items (doc._.hf_context)
    # have start/end None.
    "hf_risk": None,
    "hf_evidence": None,
}


def install_extensions() -> None:
    """Register every alia_clin extension once; calling it again is a no-op."""
    for name, default in _DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)


install_extensions()

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
}


def install_extensions() -> None:
    """Register every alia_clin extension once; calling it again is a no-op."""
    for name, default in _DOC_EXTENSIONS.items():
        if not Doc.has_extension(name):
            Doc.set_extension(name, default=default)


install_extensions()

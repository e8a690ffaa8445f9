"""De-identify a processed spaCy Doc.

Reads ``doc.spans["phi"]``, ``doc._.patient_id`` and ``doc._.language``; returns an
:class:`~alia_clin.deid.anonymize.AnonymizedText` (new text + offset map between the original
and the de-identified text). ``doc.text`` is never rewritten.
"""

from __future__ import annotations

from spacy.tokens import Doc

from .anonymize import AnonymizedText, anonymize

PHI_KEY = "phi"
_LANGUAGES = frozenset({"es", "ca", "eu", "gl"})


def deidentify_doc(
    doc: Doc,
    operator: str = "tag",
    *,
    secret: str | bytes | None = None,
    patient_key: str | None = None,
) -> AnonymizedText:
    """Apply ``operator`` (tag, mask, redact, surrogate) to the PHI spans of ``doc``.

    ``patient_key`` defaults to ``doc._.patient_id`` (surrogates and date shifts are consistent
    across the notes of one patient for one secret); languages other than es/ca/eu/gl use the
    Spanish surrogate tables.
    """
    spans = [(s.start_char, s.end_char, s.label_) for s in doc.spans.get(PHI_KEY, [])]
    language = doc._.language if doc._.language in _LANGUAGES else "es"
    return anonymize(
        doc.text,
        spans,
        operator,
        secret=secret,
        patient_key=patient_key if patient_key is not None else doc._.patient_id,
        language=language,
    )

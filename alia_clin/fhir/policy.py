"""The output policy of the FHIR mapping: identity, text operator, transaction keys, dates.

Reads nothing from a Doc; :class:`FhirPolicy` is a frozen value passed to
:func:`alia_clin.fhir.doc_to_bundle` and friends, and :func:`keys_for` turns a note's source ids
into the keys every deterministic id and identifier is derived from.

**Patient identity.** By default (``identity="pseudonymous"``) the subject is a Patient that
carries only a pseudonym: ``HMAC-SHA256(secret, "patient\\x00" + source patient id)`` as hex,
under :data:`PSEUDONYM_SYSTEM`. The same secret gives the same pseudonym for every note of a
patient; without the secret the pseudonym cannot be reversed or recomputed from a guessed id.

Without a secret (``secret=None``) nothing derived from the source patient id or note id is
emitted at all (an unkeyed hash of a 7-digit record number is trivially reversible): the note
key becomes the SHA-256 of the de-identified text, and the subject is one unlinked Patient per
note keyed by it. Re-sending the same note still creates no duplicates, but notes of one
patient are not linked. A coded warning (``W400``) says so.

Real identifiers leave only with ``identity="real"``: the Patient then carries
``{system: patient_system, value: <source patient id>}`` and the DocumentReference the source
note id under ``note_system``.

**Text.** The DocumentReference carries the note de-identified with ``operator`` (default
``"tag"``: ``[LABEL]`` placeholders need no secret, cannot be mistaken for real values and are
deterministic; ``"surrogate"`` needs ``secret``). With ``propagate_phi`` (default) every other
case-insensitive, whole-word occurrence of a detected PHI string (≥ 3 characters) is treated as
PHI too, and so is every capitalized part of a detected name, so a name detected once is not
left in clear elsewhere in the note.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Literal

from ..deid.anonymize import OPERATORS
from ..errors import AliaClinValueError, ErrorCode, WarningCode, warn

#: Identifier system of the pseudonymous patient key.
PSEUDONYM_SYSTEM = "urn:alia-clin:patient-pseudonym"
#: Identifier system of the note key (pseudonymous mode).
NOTE_KEY_SYSTEM = "urn:alia-clin:note-key"
#: Identifier system of every emitted resource's stable key (the uuid5 of its source facts).
RESOURCE_KEY_SYSTEM = "urn:alia-clin:resource-key"

Identity = Literal["pseudonymous", "real"]
ConditionalKey = Literal["identifier", "tag"]


@dataclass(frozen=True)
class FhirPolicy:
    """How a Doc becomes FHIR.

    ``identity``: ``"pseudonymous"`` (default) or ``"real"`` (see the module docstring);
    ``secret``: HMAC key for pseudonyms and surrogates; ``operator``: de-identification operator
    of the DocumentReference text (tag, mask, redact, surrogate); ``propagate_phi``: also treat
    other occurrences of detected PHI strings as PHI; ``include_span_text``: put the entity text
    (only when it overlaps no PHI) into ``code.text``; ``conditional_key``: what transaction
    ``ifNoneExist`` searches on, ``"identifier"`` (standard) or ``"tag"`` (``_tag``, for servers
    without identifier search on every type); ``recorded``: Provenance.recorded instant (default:
    the note date at 00:00Z, else the Unix epoch, so bundles stay deterministic);
    ``patient_system``/``note_system``: identifier systems of real ids; ``validate``: check every
    resource with the fhir.resources models.
    """

    identity: Identity = "pseudonymous"
    secret: str | bytes | None = field(default=None, repr=False)  # never in reprs or logs
    operator: str = "tag"
    propagate_phi: bool = True
    include_span_text: bool = True
    conditional_key: ConditionalKey = "identifier"
    recorded: str | None = None
    patient_system: str = "urn:alia-clin:source-patient-id"
    note_system: str = "urn:alia-clin:source-note-id"
    validate: bool = True

    def __post_init__(self) -> None:
        if self.identity not in ("pseudonymous", "real"):
            raise AliaClinValueError(ErrorCode.E400, field="identity", reason="use 'pseudonymous' or 'real'")
        if self.operator not in OPERATORS:
            raise AliaClinValueError(ErrorCode.E002, operator=self.operator, choices=", ".join(OPERATORS))
        if self.operator == "surrogate" and not self.secret:
            raise AliaClinValueError(ErrorCode.E013)
        if self.conditional_key not in ("identifier", "tag"):
            raise AliaClinValueError(
                ErrorCode.E400, field="conditional_key", reason="use 'identifier' or 'tag'"
            )


DEFAULT_POLICY = FhirPolicy()


@dataclass(frozen=True)
class NoteKeys:
    """The stable keys of one note: every uuid5 and identifier is derived from them.

    ``note_key``: seeds every resource id of the note; ``patient_key``: seeds the Patient id;
    ``patient_identifier``/``note_identifier``: ``(system, value)`` pairs that may be emitted.
    """

    note_key: str
    patient_key: str
    patient_identifier: tuple[str, str]
    note_identifier: tuple[str, str]


def _hmac(secret: str | bytes, purpose: str, value: str) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).hexdigest()


def keys_for(
    policy: FhirPolicy, *, note_id: str | None, patient_id: str | None, deidentified_text: str
) -> NoteKeys:
    """Derive the note's keys under ``policy`` (see the module docstring)."""
    content_key = hashlib.sha256(deidentified_text.encode("utf-8")).hexdigest()
    if policy.identity == "real":
        note_key = f"note:{note_id}" if note_id else f"content:{content_key}"
        patient_key = f"patient:{patient_id}" if patient_id else f"note-patient:{note_key}"
        patient_ident = (policy.patient_system, patient_id) if patient_id else (PSEUDONYM_SYSTEM, content_key)
        note_ident = (policy.note_system, note_id) if note_id else (NOTE_KEY_SYSTEM, content_key)
        return NoteKeys(note_key, patient_key, patient_ident, note_ident)
    if policy.secret:
        note_hash = _hmac(policy.secret, "note", note_id) if note_id else content_key
        patient_hash = _hmac(policy.secret, "patient", patient_id) if patient_id else note_hash
        return NoteKeys(
            f"note:{note_hash}",
            f"patient:{patient_hash}",
            (PSEUDONYM_SYSTEM, patient_hash),
            (NOTE_KEY_SYSTEM, note_hash),
        )
    if patient_id or note_id:
        warn(WarningCode.W400)
    return NoteKeys(
        f"note:{content_key}",
        f"patient:{content_key}",
        (PSEUDONYM_SYSTEM, content_key),
        (NOTE_KEY_SYSTEM, content_key),
    )

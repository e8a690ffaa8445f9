"""Clinical entities that are PHI: a name, an identifier or a hospital the entity head took for a finding.

The entity head was trained on case reports without identifiers (CardioCCC), so on notes that
carry them it tags some as entities: "Remitido por: Dr. <name>" as SINTOMA, "NASS: 26 …" as
ENFERMEDAD, "Hospital" of a hospital's name as ENFERMEDAD, the user part of an e-mail address as
FARMACO. On 250 MEDDOCAN train notes the shipped model wrote 290 entities lying wholly inside a
PHI span found by ``alia_deid``; none of them is a clinical fact.

The reverse also happens: ``alia_deid`` takes a drug for a name now and then ("telmisartán",
"insulina glargina" in CardioCCC train). So an entity inside PHI is removed only when
``keep`` rejects it; ``alia_codes`` keeps those that a terminology concept codes, as the FHIR
mapping emits only coded entities where they overlap PHI.

:func:`drop_entities_inside_phi` reads ``doc.ents`` and ``doc.spans["nested_entities"]`` and
removes every entity whose tokens are all PHI tokens (``phi_tokens``, the token indices of
``doc.spans["phi"]``) and that ``keep`` rejects. An entity that only overlaps PHI ("varón de 60
años con disnea" around a PHI "varón") stays. Nothing is logged.
"""

from __future__ import annotations

from collections.abc import Callable

from spacy.tokens import Doc, Span

from ..entities import NESTED_KEY, nested_entities


def _inside(span: Span, phi_tokens: set[int]) -> bool:
    return len(span) > 0 and all(i in phi_tokens for i in range(span.start, span.end))


def drop_entities_inside_phi(doc: Doc, phi_tokens: set[int], keep: Callable[[Span], bool]) -> int:
    """Remove the entities (and nested entities) made of PHI tokens only that ``keep`` rejects;
    return how many were removed."""
    if not phi_tokens:
        return 0

    def stays(span: Span) -> bool:
        return not _inside(span, phi_tokens) or keep(span)

    ents = list(doc.ents)
    kept = [e for e in ents if stays(e)]
    nested = nested_entities(doc)
    kept_nested = [s for s in nested if stays(s)]
    if len(kept) != len(ents):
        doc.ents = kept
    if len(kept_nested) != len(nested):
        doc.spans[NESTED_KEY] = kept_nested
    return len(ents) - len(kept) + len(nested) - len(kept_nested)

"""Deterministic ids and the code systems / URLs the mapping uses.

Every resource id is ``uuid5(NAMESPACE, "<note key>|<resource type>|<stable facts>")``, so the
same input gives the same bundle and re-sent notes can be matched by identifier.
"""

from __future__ import annotations

import uuid

#: Namespace of every alia_clin FHIR uuid5 (itself uuid5 of the DNS namespace and a fixed name).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "fhir.alia-clin")

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ATC = "http://www.whocc.no/atc"
CIE10ES = "http://hl7.org/fhir/sid/icd-10-cm"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VER = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBS_INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
V3_OBSERVATION_VALUE = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"
V3_ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
V3_DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
RISK_PROBABILITY = "http://terminology.hl7.org/CodeSystem/risk-probability"
PROVENANCE_PARTICIPANT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
MED_ADHERENCE = "http://hl7.org/fhir/CodeSystem/medication-statement-adherence"
DERIVATION_REFERENCE = "http://hl7.org/fhir/StructureDefinition/derivation-reference"
#: alia_clin's own extension: the ConText assertion of the mention (present, negated, …).
ASSERTION_EXTENSION = "urn:alia-clin:fhir:extension:assertion"
#: meta.tag system used by ``conditional_key="tag"`` (and always by Provenance).
KEY_TAG_SYSTEM = "urn:alia-clin:resource-key"


def stable_uuid(*parts: object) -> str:
    """A uuid5 string over ``parts`` joined with ``|`` (deterministic across runs and machines)."""
    return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts)))


def urn(resource_id: str) -> str:
    """The ``urn:uuid:`` fullUrl / reference of an id."""
    return f"urn:uuid:{resource_id}"

"""Coded errors and warnings for alia_clin.

Every message carries a stable code (``[E001]``) so users can search for it. Messages are
templates filled only with ids, offsets, paths, labels and counts — never with note text.
"""

from __future__ import annotations

import warnings
from enum import Enum


class ErrorCode(str, Enum):
    """Stable error codes. Never renumber a released code; add new ones at the end."""

    E001 = "Pipe '{name}' was used before it was initialized: call nlp.initialize() or load it from disk."
    E002 = "Unknown anonymization operator '{operator}'. Choose one of: {choices}."
    E003 = "Span [{start}, {end}) is out of range for a text of length {length}."
    E004 = "Overlapping spans [{start1}, {end1}) and [{start2}, {end2}) cannot be anonymized together."
    E005 = "Unsupported language '{language}'. Supported: {choices}."
    E006 = "Input folder '{path}' does not exist or is not a directory."
    E007 = "Could not read document '{doc_id}': {reason}."
    E008 = "Invalid BRAT annotation in '{path}' line {line}: {reason}."
    E009 = "Unknown task '{task}'. Available: {choices}."
    E010 = "Model path '{path}' does not exist."
    E011 = "Unknown output format '{fmt}'. Choose one of: {choices}."
    E012 = "Unknown input format '{fmt}'. Choose one of: {choices}."
    E013 = "A surrogate secret is required for operator 'surrogate' (pass --secret or set ALIA_CLIN_SECRET)."
    E014 = "Offset {offset} is out of range for a text of length {length}."
    E015 = "Task '{task}' is not available in this pipeline (pipes: {pipes})."
    E016 = "Gold folder '{gold}' and prediction folder '{pred}' share no documents."
    E050 = "Invalid offset map: replacement {index} {reason}."
    E051 = "Invalid PHI span [{start}, {end}) with label '{label}': {reason}."
    E052 = "Invalid mask character: expected exactly one non-whitespace character, got {length} characters."
    E053 = "Invalid surrogate key material: {reason}."
    E054 = "Invalid de-identification lexicon '{table}': {reason}."
    E017 = "The output folder '{path}' is the input folder: de-identified text would overwrite the notes."
    E018 = "No default model found and none given: pass a pipeline directory or set ALIA_CLIN_MODEL."
    E080 = "Base model source not found: {what} ({hint})."
    E081 = "Base model file '{path}' has SHA-256 {actual}, expected {expected}: refusing to convert it."
    E082 = "Base model file '{path}' is not a valid E5S1 file: {reason}."
    E083 = "Directory '{path}' is not a base-model directory: missing {missing}."
    E084 = "Vocabulary pruning failed: {reason}."
    E100 = "Hub model '{model}' needs a pinned revision (a 40-character commit hash), got '{revision}'."
    E101 = "Model directory '{path}' has no safetensors weights; only safetensors files are loaded."
    E102 = "Unsupported encoder architecture '{model_type}'. Supported: {choices}."
    E103 = "The tokenizer in '{path}' is not a fast tokenizer; word alignment needs tokenizer.json."
    E104 = "Doc has no encoder states: add the 'alia_encoder' pipe before '{name}' and run it on the doc."
    E105 = "Invalid windows (max_length {max_length}, stride {stride}, {n_special} special tokens): {reason}."
    E106 = "Head files in '{path}' are invalid: {reason}."
    E107 = "Invalid value '{value}' for '{field}'. Choose one of: {choices}."
    E108 = "Pipe '{name}' needs an encoder model: set 'model' in [initialize.components.{name}]."
    E109 = "Hidden size mismatch: the head expects {expected}, the encoder gives {got}."
    E110 = "Could not fetch hub model '{model}' at revision '{revision}': {reason}."
    E130 = "Training config '{path}' is invalid: {reason}."
    E131 = "Corpus source '{source}' not found under the corpora root '{root}'."
    E132 = "Corpus source '{source}' is licensed {license}: it must not be used to train shipped models."
    E133 = "Task '{task}' has no {split} documents after deduplication and dev-split exclusion."
    E134 = "Unknown corpus in source '{source}'. Known corpora: {choices}."
    E135 = "Refusing to write '{path}' inside the source checkout: build base models into a cache folder."
    E136 = "Output folder '{path}' exists and was not written by 'alia-clin train': refusing to replace it."
    E137 = "Output folder '{path}' already exists: the pipeline with the retrained head goes to a new folder."
    E200 = "Terminology table '{path}' line {line} is malformed: {reason}."
    E201 = "Terminology concept '{concept_id}' has an invalid {system} code '{value}'."
    E170 = "Invalid context lexicon for language '{language}': {reason}."
    E171 = "Invalid section headings data: {reason}."
    E172 = "Invalid context setting '{field}': {reason}."
    E400 = "Invalid FHIR option '{field}': {reason}."
    E401 = "Unsupported FHIR version '{version}'. Choose one of: {choices}."
    E402 = "The FHIR {version} model rejected {resource_type} '{resource_id}': {reason}."
    E403 = "Unsupported content type '{content_type}' in {resource_type} '{resource_id}'. Use: {choices}."
    E404 = "Invalid FHIR input {resource_type} '{resource_id}': {reason}."
    E405 = "Could not decode the attachment of {resource_type} '{resource_id}': {reason}."
    E406 = "Binary '{reference}' referenced by {resource_type} '{resource_id}' is not available."
    E407 = (
        "Bulk Data export path '{path}' does not exist or has no DocumentReference, Composition or "
        "Binary NDJSON file."
    )
    E408 = "NDJSON file '{path}' line {line} is not a FHIR resource: {reason}."
    E500 = "Input '{path}' does not exist."
    E501 = "Column '{column}' ({option}) is not in the input '{path}'. Columns: {columns}."
    E502 = "Input format '{fmt}' needs the optional module '{module}': install {hint}."
    E503 = "Output format '{fmt}' needs the optional module '{module}': install {hint}."
    E504 = "Output format '{fmt}' cannot be written for input format '{input_format}': {reason}."
    E505 = "The output folder '{path}' holds a run of different {what}: rerun with --force to restart it."
    E506 = "Run manifest '{path}' is unreadable or invalid: {reason}. Rerun with --force to restart."
    E507 = "Invalid batch option '{option}': {reason}."
    E508 = "Cannot detect the input format of '{path}': pass --input-format ({choices})."
    E509 = "A worker process failed on chunk {chunk}: {reason}."
    E510 = "Input format '{fmt}' is already registered."
    E511 = "Spark annotate: {reason}."
    E512 = "Input '{path}' is not a readable {fmt} file: {reason}."
    E513 = "Sheet '{sheet}' is not in the workbook '{path}'. Sheets: {sheets}."
    E600 = "No authentication configured: set ALIA_API_KEYS or ALIA_JWKS_FILE (with issuer and audience)."
    E601 = "JWKS file '{path}' does not exist or is not a file."
    E602 = "JWT authentication needs both ALIA_JWT_ISSUER and ALIA_JWT_AUDIENCE."
    E603 = "JWKS file '{path}' is not a valid JWK set: {reason}."
    E610 = "Missing or malformed bearer token."
    E611 = "Invalid token: {reason}."
    E612 = "The token lacks the scope this operation needs ({required})."
    E620 = "Request body larger than {limit} bytes."
    E621 = "Unsupported media type '{media_type}': send application/fhir+json or application/json."
    E622 = "The request body is not valid JSON ({reason})."
    E623 = "Unprocessable FHIR content: {reason}."
    E624 = "The server is at capacity ({limit} requests in progress or waiting): retry later."
    E625 = "Processing took longer than {timeout} s."
    E626 = "The model is not loaded yet: retry when /readyz reports ready."
    E627 = "Internal server error (reference {reference})."
    E628 = "Operator '{operator}' is not allowed by this service's policy. Allowed: {choices}."
    E629 = "Unknown route or method: {method} {path}."
    E630 = "FHIR mapping is not available in this installation ({what})."
    E640 = "Upstream FHIR server write failed after {attempts} attempts: {reason}."
    E300 = "Heart-failure model '{path}' is invalid: {reason}."
    E301 = "Heart-failure model file '{path}' not found."
    E302 = "Invalid heart-failure risk setting '{field}': {reason}."
    E303 = "No labelled documents for the heart-failure task under '{root}': {reason}."
    E250 = "Encoder quantization '{mode}' runs on CPU only, but the device is '{device}'."
    E251 = "Encoder quantization '{mode}' cannot be combined with bf16 autocast: set one of them."
    E252 = "Encoder quantization '{mode}' found no Linear layer to quantize in the {model_type} encoder."
    E720 = "Invalid scope head setting '{field}': {reason}."
    E721 = "NUBes folder '{path}' holds no annotated notes (.txt with .ann)."
    E722 = "Scope head training data is empty: {reason}."


class WarningCode(str, Enum):
    """Stable warning codes."""

    W001 = "Document '{doc_id}' is empty and was skipped."
    W002 = "Span [{start}, {end}) does not align with token boundaries in document '{doc_id}'; expanded."
    W003 = "Language '{language}' has no spaCy class; using the Spanish tokenizer rules."
    W720 = "Scope head of pipe '{name}' was trained on encoder weights {expected}, the pipeline's are {got}."
    W400 = "No pseudonymization secret: FHIR subjects are keyed by note content, not linked across notes."


class AliaClinError(Exception):
    """Base class of every error raised by alia_clin. ``code`` holds the stable code."""

    def __init__(self, code: ErrorCode, **fields: object) -> None:
        self.code = code.name
        self.fields = fields
        super().__init__(f"[{code.name}] " + code.value.format(**fields))


class AliaClinValueError(AliaClinError, ValueError):
    """A bad argument or bad input value."""


class AliaClinRuntimeError(AliaClinError, RuntimeError):
    """A component used in the wrong state."""


class AliaClinWarning(UserWarning):
    """Base class of alia_clin warnings."""


def warn(code: WarningCode, **fields: object) -> None:
    """Emit a coded warning. ``fields`` must not contain note text."""
    warnings.warn(f"[{code.name}] " + code.value.format(**fields), AliaClinWarning, stacklevel=3)

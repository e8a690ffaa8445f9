"""Readers and writers for note collections: txt/BRAT folders, CSV/TSV, JSONL, Parquet (and FHIR
NDJSON through :mod:`alia_clin.fhir`), selected by name in :mod:`alia_clin.io.registry`."""

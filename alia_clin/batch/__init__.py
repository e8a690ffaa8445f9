"""Batch processing of note exports: chunking, resumable run manifest, workers, progress.

Entry point: :func:`alia_clin.batch.run.run_batch` (used by ``alia-clin process``).
"""

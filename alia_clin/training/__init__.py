"""Multitask fine-tuning of the shared encoder (``trainer``), its config (``config``) and the
BRAT corpus readers it trains on (``corpora``). torch is imported by ``trainer`` only."""

"""Readers and writers for note collections (txt folders, BRAT folders, JSONL)."""

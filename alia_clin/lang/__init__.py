"""Language classes that spaCy lacks (Galician)."""

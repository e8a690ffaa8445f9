"""spaCy pipeline stages of alia_clin, one module per factory."""

"""The ``alia-clin`` command line (typer)."""

"""Encoder utilities: model loading, base-model recovery (``base_model``) and vocabulary
pruning (``vocab``).

Import-light on purpose: importing ``alia_clin.encoder`` imports neither torch nor
transformers; the submodules import them inside the functions that need them.
"""

from __future__ import annotations

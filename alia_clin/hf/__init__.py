"""Heart-failure risk: evidence lexicon and extraction, labelling rules, masking, features,
the calibrated classifier and patient-level aggregation.

* :mod:`.criteria` — Framingham / ESC 2021 / risk-factor / medication criteria and codes.
* :mod:`.evidence` — negation-aware evidence extraction from a processed ``Doc``.
* :mod:`.masking` — explicit HF mentions: find and mask (early-detection setting).
* :mod:`.labels` — document labelling rules; :mod:`.dataset` — corpora, labels, dev split.
* :mod:`.features` — evidence feature vector; :mod:`.model` — the JSON-stored classifier.
* :mod:`.training` — model selection, calibration and metrics; :mod:`.aggregate` — patients.

The spaCy stage is :mod:`alia_clin.pipeline.hf_risk` (``alia_hf_risk``).
"""

from __future__ import annotations

from .masking import find_hf_mentions, mask_hf_mentions

__all__ = ["find_hf_mentions", "mask_hf_mentions"]

"""Shared fixtures of the de-identification tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider

from alia_clin.deid.recognizers import build_recognizers
from alia_clin.deid.rules import RuleEngine


@pytest.fixture(scope="session")
def engine() -> RuleEngine:
    """The default rule engine (all labels), built once: building it takes seconds."""
    return RuleEngine()


@pytest.fixture(scope="module")
def offline_analyzer(tmp_path_factory: pytest.TempPathFactory) -> AnalyzerEngine:
    """An AnalyzerEngine over a blank Spanish spaCy pipeline saved to disk (nothing downloaded)."""
    model_dir: Path = tmp_path_factory.mktemp("nlp") / "blank_es"
    spacy.blank("es").to_disk(model_dir)
    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "es", "model_name": str(model_dir)}],
        }
    )
    registry = RecognizerRegistry(supported_languages=["es"])
    for recognizer in build_recognizers("es"):
        registry.add_recognizer(recognizer)
    return AnalyzerEngine(nlp_engine=provider.create_engine(), registry=registry, supported_languages=["es"])

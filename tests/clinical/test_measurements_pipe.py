"""The ``alia_measurements`` spaCy stage: annotations, serialization, fresh-process load."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from alia_clin.errors import AliaClinValueError
from alia_clin.pipeline.measurements import MeasurementsComponent

NOTE = (
    "Exploración: TA 140/90 mmHg, FC 88 lpm, SatO2 94 %, peso 82,5 kg.\n"
    "Eco: FEVI del 35%. NT-proBNP 1.250 pg/ml. Creatinina 1,2 mg/dl.\n"
    "Tratamiento: furosemida 40 mg/24 h. Revisión 03/02/2024.\n"
)


def _nlp(**cfg: object) -> Language:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": "alia_clin.WordPunctTokenizer.v1"}}})
    nlp.add_pipe("alia_measurements", config=dict(cfg))
    nlp.initialize()
    return nlp


def _spans(doc: Doc, key: str = "measurements") -> list[tuple[int, int, str]]:
    return [(s.start_char, s.end_char, s.label_) for s in doc.spans[key]]


def test_spans_and_extension() -> None:
    doc = _nlp()(NOTE)
    labels = [lab for _, _, lab in _spans(doc)]
    assert labels == ["BP", "HR", "SPO2", "WEIGHT", "LVEF", "NT_PROBNP", "CREATININE"]
    assert [d["kind"] for d in doc._.measurements] == labels
    assert [(d["start"], d["end"]) for d in doc._.measurements] == [(s, e) for s, e, _ in _spans(doc)]
    nt = doc._.measurements[5]
    assert (nt["value"], nt["unit_ucum"], nt["loinc"]) == (1250.0, "pg/mL", "33762-6")
    assert doc.text == NOTE


def test_kinds_filter_and_bad_kind() -> None:
    doc = _nlp(kinds=["LVEF", "BP"])(NOTE)
    assert [lab for _, _, lab in _spans(doc)] == ["BP", "LVEF"]
    with pytest.raises(AliaClinValueError, match=r"\[E107\]"):
        _nlp(kinds=["NOPE"])


def test_doc_bytes_roundtrip() -> None:
    nlp = _nlp()
    doc = nlp(NOTE)
    doc2 = Doc(nlp.vocab).from_bytes(doc.to_bytes())
    assert _spans(doc2) == _spans(doc)
    assert doc2._.measurements == doc._.measurements


def test_component_bytes_roundtrip() -> None:
    nlp = _nlp(spans_key="meas", kinds=["HR"])
    first = nlp.get_pipe("alia_measurements")
    assert isinstance(first, MeasurementsComponent)
    data = first.to_bytes()
    other = _nlp()
    target = other.get_pipe("alia_measurements")
    assert isinstance(target, MeasurementsComponent)
    pipe = target.from_bytes(data)
    assert pipe.cfg == {"spans_key": "meas", "kinds": ["HR"]}
    assert _spans(other(NOTE), "meas") == [(29, 38, "HR")]


def test_to_disk_spacy_load_in_fresh_process(tmp_path: Path) -> None:
    """nlp.to_disk → spacy.load in a new interpreter that never imports alia_clin itself."""
    nlp = _nlp()
    doc = nlp(NOTE)
    expected = {"spans": [list(t) for t in _spans(doc)], "ext": doc._.measurements}
    nlp.to_disk(tmp_path / "pipe")
    script = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'pipe')!r})\n"
        "doc = nlp(sys.stdin.read())\n"
        "spans = [[s.start_char, s.end_char, s.label_] for s in doc.spans['measurements']]\n"
        "print(json.dumps({'spans': spans, 'ext': doc._.measurements}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], input=NOTE, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == json.loads(json.dumps(expected))
    assert expected["spans"]

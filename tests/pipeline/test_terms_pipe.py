"""alia_terms: dictionary entities (longest match, labels, abbreviations), given entities and
PHI left alone, es/ca/eu/gl terms, round-trip through disk in a fresh process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.tokens import Doc, Span

from alia_clin import TOKENIZER
from alia_clin.errors import AliaClinRuntimeError
from alia_clin.pipeline import codes, terms  # noqa: F401  (registers the factories)
from alia_clin.pipeline.spans import exact_spans

TEXT = (
    "Ingresa por insuficiencia cardiaca aguda. Refiere disnea paroxística nocturna y ortopnea. "
    "Tratada con furosemida. Se realiza ecocardiograma. Antecedentes: HTA, FA. Ha tosido."
)


def _nlp(*pipes: str) -> spacy.language.Language:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    for pipe in pipes or ("alia_terms",):
        nlp.add_pipe(pipe)
    nlp.initialize()
    return nlp


def _ents(doc: Doc) -> list[tuple[str, str]]:
    return [(e.text, e.label_) for e in doc.ents]


def test_longest_matches_with_labels() -> None:
    ents = _ents(_nlp()(TEXT))
    assert ("insuficiencia cardiaca aguda", "ENFERMEDAD") in ents
    assert ("insuficiencia cardiaca", "ENFERMEDAD") not in ents  # the longer term wins
    assert ("disnea paroxística nocturna", "SINTOMA") in ents
    assert ("ortopnea", "SINTOMA") in ents
    assert ("furosemida", "FARMACO") in ents
    assert ("ecocardiograma", "PROCEDIMIENTO") in ents
    assert ("HTA", "ENFERMEDAD") in ents and ("FA", "ENFERMEDAD") in ents


def test_short_abbreviations_are_case_sensitive_and_whole_tokens() -> None:
    nlp = _nlp()
    assert _ents(nlp("la hta y la fa no son siglas aquí")) == []
    assert _ents(nlp("Dx: ICC.")) == [("ICC", "ENFERMEDAD")]  # not "IC" inside "ICC"


@pytest.mark.parametrize("gap", ["  ", "\t", "\u00a0", " \u202f "])
def test_terms_match_across_a_double_space_tab_or_no_break_space(gap: str) -> None:
    text = f"Ingresa por insuficiencia{gap}cardiaca aguda. Refiere disnea{gap}paroxística nocturna."
    ents = _ents(_nlp()(text))
    assert (f"insuficiencia{gap}cardiaca aguda", "ENFERMEDAD") in ents
    assert (f"disnea{gap}paroxística nocturna", "SINTOMA") in ents


def test_a_line_break_still_separates_terms() -> None:
    ents = _ents(_nlp()("Antecedentes: insuficiencia\ncardiaca aguda.  Disnea."))
    assert ("insuficiencia\ncardiaca aguda", "ENFERMEDAD") not in ents
    assert ("Disnea", "SINTOMA") in ents  # a match never starts on the double space


def test_accent_and_case_insensitive_terms() -> None:
    assert _ents(_nlp()("INSUFICIENCIA CARDÍACA descompensada")) == [
        ("INSUFICIENCIA CARDÍACA descompensada", "ENFERMEDAD")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Presenta dispnea i edemes en extremitats inferiors.", "edemes en extremitats inferiors"),
        ("Aurrekariak: hipertentsio arteriala.", "hipertentsio arteriala"),
        ("Antecedentes de enfermidade renal crónica.", "enfermidade renal crónica"),
    ],
)
def test_co_official_language_terms(text: str, expected: str) -> None:
    assert expected in [t for t, _ in _ents(_nlp()(text))]


def test_existing_entities_and_phi_are_kept() -> None:
    nlp = _nlp()
    doc = nlp.make_doc(TEXT)
    start = TEXT.index("insuficiencia")
    doc.ents = exact_spans(doc, [(start, start + len("insuficiencia cardiaca"), "OTRA")])
    fstart = TEXT.index("furosemida")
    doc.spans["phi"] = exact_spans(doc, [(fstart, fstart + len("furosemida"), "NOMBRE_SUJETO_ASISTENCIA")])
    doc = nlp.get_pipe("alia_terms")(doc)
    ents = _ents(doc)
    assert ("insuficiencia cardiaca", "OTRA") in ents  # a given entity wins
    assert not any(t == "furosemida" for t, _ in ents)  # PHI tokens never become entities
    assert ("ortopnea", "SINTOMA") in ents


def test_entities_are_coded_downstream() -> None:
    doc = _nlp("alia_terms", "alia_codes")(TEXT)
    by_text = {e.text: e.kb_id_ for e in doc.ents}
    assert by_text["furosemida"] == "atc:C03CA01"
    assert by_text["ortopnea"].startswith("snomed:")


def test_uninitialized_pipe_raises_coded_error() -> None:
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    pipe = nlp.add_pipe("alia_terms")
    with pytest.raises(AliaClinRuntimeError, match="E001"):
        pipe(nlp.make_doc("disnea"))


def test_round_trip_in_fresh_process(tmp_path: Path) -> None:
    nlp = _nlp()
    expected = [[e.start_char, e.end_char, e.label_] for e in nlp(TEXT).ents]
    nlp.to_disk(tmp_path / "p")
    code = (
        "import json, sys, spacy\n"
        f"nlp = spacy.load({str(tmp_path / 'p')!r})\n"
        "doc = nlp(sys.stdin.read())\n"
        "print(json.dumps([[e.start_char, e.end_char, e.label_] for e in doc.ents]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], input=TEXT, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == expected
    clone = _nlp().from_bytes(nlp.to_bytes())
    assert [[e.start_char, e.end_char, e.label_] for e in clone(TEXT).ents] == expected


def test_span_type_is_plain() -> None:
    doc = _nlp()(TEXT)
    assert all(isinstance(e, Span) and e.kb_id_ == "" for e in doc.ents)


def test_table_drugs_read_as_lab_values_are_not_written() -> None:
    text = "Niveles de digoxina 2,4 ng/ml: se retira la digoxina y se pauta furosemida."
    ents = _ents(_nlp()(text))
    assert ents.count(("digoxina", "FARMACO")) == 1 and ("furosemida", "FARMACO") in ents
    nlp = spacy.blank("es", config={"nlp": {"tokenizer": {"@tokenizers": TOKENIZER}}})
    nlp.add_pipe("alia_terms", config={"lab_values": False})
    nlp.initialize()
    assert _ents(nlp(text)).count(("digoxina", "FARMACO")) == 2


def _basque(nlp: spacy.language.Language, text: str, language: str = "eu") -> list[tuple[str, str]]:
    doc = nlp.make_doc(text)
    doc._.language = language
    return _ents(nlp(doc))


def test_inflected_basque_terms_are_found_in_basque_notes() -> None:
    nlp = _nlp()
    text = "Ez du sukarrik, ez du bularreko minik. Edemarik ez. Ortopnearekin dator. Sukarra du."
    assert _basque(nlp, text) == [
        ("sukarrik", "SINTOMA"),
        ("bularreko minik", "SINTOMA"),
        ("Edemarik", "SINTOMA"),
        ("Ortopnearekin", "SINTOMA"),
        ("Sukarra", "SINTOMA"),
    ]
    # only in Basque notes, and never a stem shorter than three letters or an unknown ending
    assert _basque(nlp, text, "es") == [("Sukarra", "SINTOMA")]
    assert _basque(nlp, "Sukarrez eta minez.") == []


def test_inflected_basque_mentions_are_negated_by_the_partitive() -> None:
    nlp = _nlp("alia_terms", "alia_context")
    doc = nlp.make_doc("Ez du sukarrik. Edemarik ez. Sukarra du.")
    doc._.language = "eu"
    assert [(e.text, e._.assertion) for e in nlp(doc).ents] == [
        ("sukarrik", "negated"),
        ("Edemarik", "negated"),
        ("Sukarra", "present"),
    ]

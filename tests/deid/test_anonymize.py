"""Tests for alia_clin.deid.anonymize (synthetic notes written for these tests; all invented)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

from alia_clin.deid.anonymize import OPERATORS, AnonymizedText, anonymize, resolve_overlaps, validate_spans
from alia_clin.deid.surrogates import dni_check_letter
from alia_clin.errors import AliaClinValueError

SECRET = "secreto-de-pruebas"
Segment = tuple[str, str | None]


def _build(segments: list[Segment]) -> tuple[str, list[tuple[int, int, str]]]:
    """Join segments into a text and return it with the spans of the labelled segments."""
    text, spans = "", []
    for piece, label in segments:
        if label:
            spans.append((len(text), len(text) + len(piece), label))
        text += piece
    return text, spans


NOTE_ES: list[Segment] = [
    ("Paciente: ", None),
    ("Eulalia Montesinos Berrocal", "NOMBRE_SUJETO_ASISTENCIA"),
    (". DNI: ", None),
    ("40961258Q", "ID_SUJETO_ASISTENCIA"),
    (". NHC: ", None),
    ("7730194", "ID_SUJETO_ASISTENCIA"),
    ("\nIngreso: ", None),
    ("14/05/2023", "FECHAS"),
    (". Alta: ", None),
    ("22/05/2023", "FECHAS"),
    (".\nMujer de ", None),
    ("67 años", "EDAD_SUJETO_ASISTENCIA"),
    (". Sexo: ", None),
    ("M", "SEXO_SUJETO_ASISTENCIA"),
    (".\nDomicilio: ", None),
    ("C/ Cigüeña 7, 2º A", "CALLE"),
    (", ", None),
    ("30850", "TERRITORIO"),
    (" ", None),
    ("Totana", "TERRITORIO"),
    (". Tel.: ", None),
    ("+34 611 203 947", "NUMERO_TELEFONO"),
    ("\nCorreo: ", None),
    ("eulalia.mb@correo-ficticio.es", "CORREO_ELECTRONICO"),
    ("\nControl en ", None),
    ("Centro de Salud Los Almendros", "CENTRO_SALUD"),
    (" desde el ", None),
    ("3 de marzo de 2019", "FECHAS"),
    (".\nLa Sra. ", None),
    ("Montesinos", "NOMBRE_SUJETO_ASISTENCIA"),
    (" refiere disnea; su hija ", None),
    ("Begoña", "FAMILIARES_SUJETO_ASISTENCIA"),
    (" la acompaña 😊.\r\nFirmado: Dr. ", None),
    ("Teodoro Aramburu Quesada", "NOMBRE_PERSONAL_SANITARIO"),
    (" (nº col. ", None),
    ("30/30/08817", "ID_TITULACION_PERSONAL_SANITARIO"),
    (") – ", None),
    ("Hospital General Vega Baja", "HOSPITAL"),
    (". Episodio ", None),
    ("EP-2023-118204", "ID_CONTACTO_ASISTENCIAL"),
    (". Otros: ", None),
    ("recluso", "OTROS_SUJETO_ASISTENCIA"),
    (".\n", None),
]
NOTE_CA: list[Segment] = [
    ("Pacient: ", None),
    ("Jordina Vilaseca i Roura", "NOMBRE_SUJETO_ASISTENCIA"),
    (", ", None),
    ("58 anys", "EDAD_SUJETO_ASISTENCIA"),
    (". CIP: ", None),
    ("VIRO 0660412 07", "ID_ASEGURAMIENTO"),
    (".\nData d'ingrés: ", None),
    ("9 d'octubre del 2022", "FECHAS"),
    (". Adreça: ", None),
    ("Carrer de les Moreres 41", "CALLE"),
    (", ", None),
    ("Manlleu", "TERRITORIO"),
    (".\nMetge: ", None),
    ("Dr. Pau Casademont", "NOMBRE_PERSONAL_SANITARIO"),
    (", ", None),
    ("CAP Manlleu Nord", "CENTRO_SALUD"),
    (".\n", None),
]
NOTE_EU: list[Segment] = [
    ("Gaixoa: ", None),
    ("Ainhoa Goikoetxea Urrutia", "NOMBRE_SUJETO_ASISTENCIA"),
    (", ", None),
    ("72 urte", "EDAD_SUJETO_ASISTENCIA"),
    (". NAN: ", None),
    ("73120458K", "ID_SUJETO_ASISTENCIA"),
    (".\nOspitaleratzea: ", None),
    ("2021eko azaroaren 8an", "FECHAS"),
    (". Helbidea: ", None),
    ("Lizarra kalea 12", "CALLE"),
    (", ", None),
    ("Azpeitia", "TERRITORIO"),
    (".\nTel.: ", None),
    ("943 55 12 07", "NUMERO_TELEFONO"),
    (".\n", None),
]
NOTE_GL: list[Segment] = [
    ("Paciente: ", None),
    ("Xoán Carballeira Outeiro", "NOMBRE_SUJETO_ASISTENCIA"),
    (", ", None),
    ("81 anos", "EDAD_SUJETO_ASISTENCIA"),
    (".\nIngreso: ", None),
    ("3 de xaneiro de 2020", "FECHAS"),
    (". Enderezo: ", None),
    ("Rúa da Fonte Seca 5", "CALLE"),
    (", ", None),
    ("Lalín", "TERRITORIO"),
    (".\nCentro: ", None),
    ("Complexo Hospitalario de Pontenova", "HOSPITAL"),
    (".\n", None),
]
NOTES = {"es": NOTE_ES, "ca": NOTE_CA, "eu": NOTE_EU, "gl": NOTE_GL}


@pytest.fixture()
def note() -> tuple[str, list[tuple[int, int, str]]]:
    return _build(NOTE_ES)


def _check_offsets(text: str, result: AnonymizedText) -> None:
    """Every character outside PHI maps exactly; every replacement maps to its new span and back."""
    covered = {i for r in result.replacements for i in range(r.orig_start, r.orig_end)}
    for i, ch in enumerate(text):
        if i not in covered:
            start, end = result.offset_map.to_new(i, i + 1)
            assert result.text[start:end] == ch
            assert result.offset_map.to_original(start, end) == (i, i + 1)
    for r in result.replacements:
        assert result.offset_map.to_new(r.orig_start, r.orig_end) == (r.new_start, r.new_end)
        if r.new_end > r.new_start:
            assert result.offset_map.to_original(r.new_start, r.new_end) == (r.orig_start, r.orig_end)


# -- operators ---------------------------------------------------------------------------------


def test_tag(note: tuple[str, list[tuple[int, int, str]]]) -> None:
    text, spans = note
    result = anonymize(text, spans, "tag")
    assert result.text.startswith("Paciente: [NOMBRE_SUJETO_ASISTENCIA]. DNI: [ID_SUJETO_ASISTENCIA].")
    assert "[OTROS_SUJETO_ASISTENCIA]" in result.text
    assert [r.label for r in result.replacements] == [s[2] for s in spans]
    assert all(result.text[r.new_start : r.new_end] == f"[{r.label}]" for r in result.replacements)
    _check_offsets(text, result)


def test_mask_keeps_length_and_line_breaks() -> None:
    text = "Nombre: Ana\r\nMaría Pérez. Fin"
    start, end = text.index("Ana"), text.index(".")
    result = anonymize(text, [(start, end, "NOMBRE_SUJETO_ASISTENCIA")], "mask", mask_char="#")
    assert result.text == "Nombre: ###\r\n###########. Fin"
    assert len(result.text) == len(text)
    _check_offsets(text, result)


def test_redact(note: tuple[str, list[tuple[int, int, str]]]) -> None:
    text, spans = note
    result = anonymize(text, spans, "redact")
    assert result.text.startswith("Paciente: . DNI: . NHC: \nIngreso: . Alta: .")
    assert all(r.new_start == r.new_end for r in result.replacements)
    _check_offsets(text, result)


def test_surrogate_replaces_every_value(note: tuple[str, list[tuple[int, int, str]]]) -> None:
    text, spans = note
    result = anonymize(text, spans, "surrogate", secret=SECRET, patient_key="pac-42")
    _check_offsets(text, result)
    assert "[OTROS_SUJETO_ASISTENCIA]" in result.text  # no generator: falls back to tag
    assert "😊.\r\nFirmado: Dr. " in result.text
    new_values = {r.label: result.text[r.new_start : r.new_end] for r in result.replacements}
    dni = new_values["ID_SUJETO_ASISTENCIA"]  # the last one is the NHC; check the first (DNI)
    first_id = result.replacements[1]
    dni = result.text[first_id.new_start : first_id.new_end]
    assert dni_check_letter(int(dni[:8])) == dni[8]
    assert new_values["SEXO_SUJETO_ASISTENCIA"] == "M"


@pytest.mark.parametrize("language", sorted(NOTES))
@pytest.mark.parametrize("operator", OPERATORS)
def test_no_original_phi_value_in_output(language: str, operator: str) -> None:
    text, spans = _build(NOTES[language])
    result = anonymize(text, spans, operator, secret=SECRET, patient_key="pac-7", language=language)
    for start, end, label in spans:
        if label == "SEXO_SUJETO_ASISTENCIA":
            continue  # kept on purpose (see surrogates module docstring)
        assert text[start:end] not in result.text, (label, start, end)
    _check_offsets(text, result)


def test_surrogate_consistent_within_document(note: tuple[str, list[tuple[int, int, str]]]) -> None:
    text = "Visita de Rigoberto Anzúa. Rigoberto Anzúa niega dolor. NHC 55120 y NHC 55120."
    spans = [(m.start(), m.end(), "NOMBRE_SUJETO_ASISTENCIA") for m in re.finditer("Rigoberto Anzúa", text)]
    spans += [(m.start(), m.end(), "ID_SUJETO_ASISTENCIA") for m in re.finditer("55120", text)]
    result = anonymize(text, spans, "surrogate", secret=SECRET, patient_key="pac-1")
    values = [result.text[r.new_start : r.new_end] for r in result.replacements]
    assert values[0] == values[1] and values[2] == values[3]


def _values(result: AnonymizedText) -> list[str]:
    return [result.text[r.new_start : r.new_end] for r in result.replacements]


def test_surrogate_consistent_across_documents_of_a_patient() -> None:
    doc1, spans1 = _build(
        [
            ("Paciente ", None),
            ("Herminia Lozoya", "NOMBRE_SUJETO_ASISTENCIA"),
            (", ingreso ", None),
            ("02/01/2024", "FECHAS"),
            (". NHC ", None),
            ("909182", "ID_SUJETO_ASISTENCIA"),
        ]
    )
    doc2, spans2 = _build(
        [
            ("Control de ", None),
            ("Herminia Lozoya", "NOMBRE_SUJETO_ASISTENCIA"),
            (" el ", None),
            ("01/03/2024", "FECHAS"),
            (" (NHC ", None),
            ("909182", "ID_SUJETO_ASISTENCIA"),
            (")", None),
        ]
    )
    r1 = anonymize(doc1, spans1, "surrogate", secret=SECRET, patient_key="pac-9")
    r2 = anonymize(doc2, spans2, "surrogate", secret=SECRET, patient_key="pac-9")
    v1, v2 = _values(r1), _values(r2)
    assert v1[0] == v2[0] and v1[2] == v2[2]
    d1, d2 = (date(*reversed([int(x) for x in v.split("/")])) for v in (v1[1], v2[1]))
    assert (d2 - d1) == (date(2024, 3, 1) - date(2024, 1, 2))  # interval kept across documents
    other = anonymize(doc1, spans1, "surrogate", secret="otro-secreto", patient_key="pac-9")
    assert _values(other)[0] != v1[0] and _values(other)[2] != v1[2]


def test_surrogate_without_patient_key_is_per_call_consistent(
    note: tuple[str, list[tuple[int, int, str]]],
) -> None:
    text, spans = note
    a = anonymize(text, spans, "surrogate", secret=SECRET)
    b = anonymize(text, spans, "surrogate", secret=SECRET, patient_key="")
    assert a.text == b.text


def test_original_inputs_untouched(note: tuple[str, list[tuple[int, int, str]]]) -> None:
    text, spans = note
    spans_copy = list(reversed(spans))
    before = list(spans_copy)
    result = anonymize(text, spans_copy, "surrogate", secret=SECRET)
    assert spans_copy == before and text == _build(NOTE_ES)[0]
    assert result.text != text


def test_unknown_label_falls_back_to_tag_and_mask() -> None:
    text = "Ref. ZZ-99 fin"
    spans = [(5, 10, "ETIQUETA_RARA")]
    assert anonymize(text, spans, "surrogate", secret=SECRET).text == "Ref. [ETIQUETA_RARA] fin"
    assert anonymize(text, spans, "mask").text == "Ref. ***** fin"


def test_no_spans_is_identity() -> None:
    result = anonymize("Sin datos.", [], "tag")
    assert result.text == "Sin datos." and result.replacements == []
    assert result.offset_map.to_new(0, 10) == (0, 10)


def test_to_dict_is_json_serializable(note: tuple[str, list[tuple[int, int, str]]]) -> None:
    text, spans = note
    data = anonymize(text, spans, "tag").to_dict()
    assert json.loads(json.dumps(data)) == data
    assert "Eulalia" not in json.dumps(data["replacements"])


# -- validation --------------------------------------------------------------------------------


def test_surrogate_without_secret_raises_e013(note: tuple[str, list[tuple[int, int, str]]]) -> None:
    with pytest.raises(AliaClinValueError) as err:
        anonymize(*note, "surrogate")
    assert err.value.code == "E013"


def test_unknown_operator_raises_e002() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E002\]"):
        anonymize("abc", [], "hash")


def test_unknown_language_raises_e005() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E005\]"):
        anonymize("abc", [], "tag", language="pt")


@pytest.mark.parametrize("mask_char", ["", "**", " "])
def test_bad_mask_char_raises_e052(mask_char: str) -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E052\]"):
        anonymize("abc", [(0, 1, "X")], "mask", mask_char=mask_char)


def test_overlapping_spans_raise_e004() -> None:
    with pytest.raises(AliaClinValueError, match=r"\[E004\]"):
        anonymize("Ana María Ruiz", [(0, 9, "NOMBRE_SUJETO_ASISTENCIA"), (4, 14, "NOMBRE_SUJETO_ASISTENCIA")])


@pytest.mark.parametrize(
    ("spans", "code"),
    [
        ([(0, 20, "X")], "E003"),
        ([(-1, 2, "X")], "E003"),
        ([(2, 2, "X")], "E051"),
        ([(0, 2, "")], "E051"),
        ([(0, 2)], "E051"),
        ([(0.0, 2, "X")], "E051"),
    ],
)
def test_invalid_spans(spans: list[tuple[object, ...]], code: str) -> None:
    with pytest.raises(AliaClinValueError) as err:
        validate_spans(spans, 10)  # type: ignore[arg-type]
    assert err.value.code == code


def test_error_messages_do_not_contain_text() -> None:
    text = "Paciente Secundino Olmedo"
    with pytest.raises(AliaClinValueError) as err:
        anonymize(text, [(9, 18, "N"), (12, 25, "N")])
    assert "Secundino" not in str(err.value) and "Olmedo" not in str(err.value)


def test_adjacent_spans_are_allowed() -> None:
    result = anonymize("AnaRuiz", [(0, 3, "A"), (3, 7, "B")], "tag")
    assert result.text == "[A][B]"


def test_resolve_overlaps_longest_wins() -> None:
    spans = [
        (0, 9, "NOMBRE"),
        (4, 14, "NOMBRE_LARGO"),
        (20, 25, "FECHAS"),
        (21, 23, "EDAD"),
        (30, 32, "B"),
        (30, 32, "A"),
        (14, 16, "X"),
    ]
    assert resolve_overlaps(spans) == [
        (4, 14, "NOMBRE_LARGO"),
        (14, 16, "X"),
        (20, 25, "FECHAS"),
        (30, 32, "A"),
    ]
    assert resolve_overlaps([]) == []
    text = "x" * 40
    assert anonymize(text, resolve_overlaps(spans), "tag").text.count("[") == 4


# -- shipped synthetic examples ----------------------------------------------------------------

EXAMPLES = Path(__file__).resolve().parents[2] / "alia_clin" / "resources" / "examples"


def test_example_notes_are_well_formed() -> None:
    notes = sorted(EXAMPLES.glob("*.txt"))
    langs = [p.stem.split("_")[0] for p in notes]
    assert langs.count("es") >= 5 and {"ca", "eu", "gl"} <= set(langs)
    for path in notes:
        raw = path.read_bytes()
        assert b"\r" not in raw
        lines = raw.decode("utf-8").splitlines()
        assert 15 <= len(lines) <= 40, path.name
    assert (EXAMPLES / "README.md").is_file()

"""Reading notes from FHIR: DocumentReference, Binary, Bundle, Bulk Data NDJSON."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.fhir import FhirPolicy, doc_to_bundle, iter_ndjson_notes, notes_from_resource

from ..io.test_cda import EXPECTED, STRUCTURED
from .helpers import attachment_text
from .notes import cardio_doc

NOTE = "Mujer de 70 años con disnea de esfuerzo.\nNiega dolor torácico.\n"


def _b64(text: str, encoding: str = "utf-8") -> str:
    return base64.b64encode(text.encode(encoding)).decode("ascii")


def docref(rid="d1", text=NOTE, ctype="text/plain", encoding="utf-8", **extra):
    att = {"contentType": ctype, "data": _b64(text, encoding), "language": "es-ES"}
    res = {
        "resourceType": "DocumentReference",
        "id": rid,
        "status": "current",
        "subject": {"reference": "Patient/p-9"},
        "context": {"period": {"start": "2024-05-02"}},
        "content": [{"attachment": att}],
    }
    res.update(extra)
    return res


def test_document_reference_plain_utf8():
    (rec,) = notes_from_resource(docref())
    assert rec.text == NOTE and rec.error is None
    assert (rec.id, rec.patient_id, rec.date, rec.language) == ("d1", "p-9", "2024-05-02", "es")


def test_charset_latin1_and_bom():
    (rec,) = notes_from_resource(docref(ctype="text/plain; charset=ISO-8859-1", encoding="latin-1"))
    assert rec.text == NOTE
    bom = docref()
    bom["content"][0]["attachment"]["data"] = base64.b64encode(b"\xef\xbb\xbf" + NOTE.encode()).decode()
    assert notes_from_resource(bom)[0].text == NOTE


def test_html_attachment():
    html = (
        "<html><head><title>x</title><style>p{}</style></head><body><p>Mujer de 70 a&ntilde;os"
        " con <b>disnea</b>.</p><p>Niega dolor&nbsp;torácico.</p><script>var a=1;</script></body></html>"
    )
    (rec,) = notes_from_resource(docref(text=html, ctype="text/html; charset=utf-8"))
    assert rec.text == "Mujer de 70 años con disnea.\n\nNiega dolor torácico."  # paragraphs


def test_html_table_cells_stay_apart():
    html = (
        "<table><tr><th>Prueba</th><th>Valor</th></tr><tr><td>FEVI</td><td> 35  %</td></tr>"
        "<tr><td>NT-proBNP</td><td>1.250 pg/ml</td></tr></table>"
    )
    (rec,) = notes_from_resource(docref(text=html, ctype="text/html"))
    assert rec.text == "Prueba\tValor\n\nFEVI\t35 %\n\nNT-proBNP\t1.250 pg/ml"


def test_html_source_line_breaks_are_spaces_except_in_pre():
    html = "<p>Mujer con disnea\n   de esfuerzo.</p><pre>TA  130/80\nFC  72</pre>"
    (rec,) = notes_from_resource(docref(text=html, ctype="text/html"))
    assert rec.text == "Mujer con disnea de esfuerzo.\n\nTA 130/80\nFC 72"


@pytest.mark.parametrize("ctype", ["application/hl7-v3+xml", "text/xml; charset=utf-8"])
def test_cda_attachment(ctype):
    (rec,) = notes_from_resource(docref(text=STRUCTURED, ctype=ctype))
    assert rec.error is None and rec.text == EXPECTED


def test_xml_that_is_not_cda_is_coded():
    (rec,) = notes_from_resource(docref(text="<nota>Disnea.</nota>", ctype="application/xml"))
    assert rec.text is None and rec.error_code == "invalid_cda"
    assert "[E405]" in rec.error and "ClinicalDocument" in rec.error and "Disnea" not in rec.error


RTF_NOTE = (
    b"{\\rtf1\\ansi\\ansicpg1252\\deff0{\\fonttbl{\\f0\\fswiss Arial;}}"
    b"{\\info{\\author Autor Inventado}{\\company Centro Inventado}}"
    b"{\\header Cabecera Inventada\\par}\r\n"
    b"\\pard\\f0\\fs20{\\b Antecedentes:} HTA.\\par\r\n"
    b"Var\\'f3n de 74 a\\'f1os con disnea\\tab y edemas.\\line Ni\\u241?o\\par\r\n"
    b"\\trowd\\cellx1000\\cellx2000 FEVI\\cell 35 %\\cell\\row\r\n"
    b"\\pard Fin.\\par}"
)


def _rtf_docref(raw: bytes, ctype: str = "text/rtf") -> dict:
    res = docref(ctype=ctype)
    res["content"][0]["attachment"]["data"] = base64.b64encode(raw).decode("ascii")
    return res


@pytest.mark.parametrize("ctype", ["text/rtf", "application/rtf", "application/rtf; charset=windows-1252"])
def test_rtf_attachment(ctype):
    (rec,) = notes_from_resource(_rtf_docref(RTF_NOTE, ctype))
    assert rec.error is None
    # \'hh and \uN escapes decoded, \par / \line / \tab kept as layout, table cells apart by tabs;
    # the font table, \info (author, company) and the page header are not note text.
    assert rec.text == "Antecedentes: HTA.\nVarón de 74 años con disnea\ty edemas.\nNiño\nFEVI\t35 %\nFin.\n"


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_rtf_with_raw_non_ascii_bytes(encoding):
    raw = "{\\rtf1 Varón con disnea.\\par}".encode(encoding)
    (rec,) = notes_from_resource(_rtf_docref(raw))
    assert rec.text == "Varón con disnea.\n"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (NOTE.encode(), "invalid_rtf"),  # labelled RTF, but plain text
        (b"{\\rtf1\\ansi\\ansicpg1252 disnea \\'81 edemas\\par}", "invalid_encoding"),  # undefined in cp1252
    ],
)
def test_bad_rtf_is_coded_and_textless(raw, code):
    (rec,) = notes_from_resource(_rtf_docref(raw))
    assert rec.text is None and rec.error_code == code
    assert "[E405]" in rec.error and "disnea" not in rec.error


def test_unsupported_content_type_is_coded_and_textless():
    (rec,) = notes_from_resource(docref(ctype="image/png"))
    assert rec.text is None and rec.error_code == "unsupported_content_type"
    assert "[E403]" in rec.error and "image/png" in rec.error
    assert rec.patient_id == "p-9"


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda r: r["content"][0]["attachment"].update(data="***"), "invalid_base64"),
        (
            lambda r: r["content"][0]["attachment"].update(contentType="text/plain; charset=nope"),
            "unknown_charset",
        ),
        (
            lambda r: r["content"][0]["attachment"].update(data=base64.b64encode(b"\xff\xfe\xfa").decode()),
            "invalid_encoding",
        ),
        (lambda r: r["content"][0]["attachment"].pop("data"), "no_inline_data"),
        (lambda r: r.update(content=[]), "no_attachment"),
        (lambda r: r.update(content=5), "no_attachment"),  # not a list: invalid FHIR, no crash
        (lambda r: r["content"][0]["attachment"].update(data=_b64("   \n")), "empty"),
    ],
)
def test_bad_records(mutate, code):
    res = docref()
    mutate(res)
    (rec,) = notes_from_resource(res)
    assert rec.error_code == code
    assert code == "empty" or rec.text is None
    assert "disnea" not in (rec.error or "")


def test_binary_and_bundle_with_url():
    binary = {"resourceType": "Binary", "id": "b1", "contentType": "text/plain", "data": _b64(NOTE)}
    ref = docref("d2")
    ref["content"][0]["attachment"] = {"contentType": "text/plain", "url": "Binary/b1"}
    lone = {"resourceType": "Binary", "id": "b2", "contentType": "text/plain", "data": _b64("Otra nota.")}
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://x/fhir/Binary/b1", "resource": binary},
            {"fullUrl": "http://x/fhir/DocumentReference/d2", "resource": ref},
            {"resource": lone},
            {"resource": {"resourceType": "Patient", "id": "p"}},
        ],
    }
    recs = notes_from_resource(bundle)
    assert [(r.id, r.text) for r in recs] == [("d2", NOTE), ("b2", "Otra nota.")]
    assert notes_from_resource(binary)[0].text == NOTE
    (bad,) = notes_from_resource({"resourceType": "Patient", "id": "p"})
    assert bad.error_code == "unsupported_resource"


def test_round_trip_of_emitted_document_reference():
    bundle = doc_to_bundle(cardio_doc(), policy=FhirPolicy(secret="k"))
    recs = notes_from_resource(bundle)
    assert len(recs) == 1
    assert recs[0].text == attachment_text(bundle)
    assert recs[0].language == "es" and recs[0].date == "2024-03-11"


def _write_ndjson(path: Path, resources) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")


def test_bulk_export_folder(tmp_path):
    ref = docref("d3")
    ref["content"][0]["attachment"] = {"contentType": "text/plain", "url": "https://srv/fhir/Binary/b9"}
    missing = docref("d4")
    missing["content"][0]["attachment"] = {"contentType": "text/plain", "url": "Binary/zzz"}
    _write_ndjson(tmp_path / "DocumentReference.ndjson", [docref("d1"), ref, missing])
    with (tmp_path / "DocumentReference.ndjson").open("a") as f:
        f.write("{not json\n")
    _write_ndjson(
        tmp_path / "Binary.ndjson",
        [{"resourceType": "Binary", "id": "b9", "contentType": "text/plain", "data": _b64(NOTE)}],
    )
    _write_ndjson(tmp_path / "Patient.ndjson", [{"resourceType": "Patient", "id": "p-9"}])
    recs = list(iter_ndjson_notes(tmp_path))
    assert [(r.id, r.error_code) for r in recs] == [
        ("d1", None),
        ("d3", None),
        ("d4", "binary_not_found"),
        ("DocumentReference.ndjson:4", "invalid_json"),
    ]
    assert recs[1].text == NOTE
    assert recs[2].position == "DocumentReference.ndjson:3"


def test_bulk_single_file_and_explicit_binaries(tmp_path):
    ref = docref("d5")
    ref["content"][0]["attachment"] = {"contentType": "text/plain", "url": "Binary/b5"}
    _write_ndjson(tmp_path / "docs.ndjson", [ref])
    binary = {"resourceType": "Binary", "id": "b5", "contentType": "text/plain", "data": _b64(NOTE)}
    assert [r.text for r in iter_ndjson_notes(tmp_path / "docs.ndjson", binaries={"Binary/b5": binary})] == [
        NOTE
    ]
    _write_ndjson(tmp_path / "bins.ndjson", [binary])
    assert [
        r.text for r in iter_ndjson_notes(tmp_path / "docs.ndjson", binaries=tmp_path / "bins.ndjson")
    ] == [NOTE]
    # a file of Binaries alone: each Binary is a note
    assert [r.id for r in iter_ndjson_notes(tmp_path / "bins.ndjson")] == ["b5"]


def test_empty_export_folder(tmp_path):
    with pytest.raises(AliaClinValueError, match="E407"):
        list(iter_ndjson_notes(tmp_path))
    with pytest.raises(AliaClinValueError, match="E407"):
        list(iter_ndjson_notes(tmp_path / "missing.ndjson"))


COMPOSITION = {
    "resourceType": "Composition",
    "id": "c1",
    "status": "final",
    "language": "es-ES",
    "subject": {"reference": "Patient/p-9"},
    "date": "2024-05-02",
    "title": "Informe de alta",
    "section": [
        {
            "title": "Antecedentes personales",
            "text": {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml">HTA. DM2.</div>',
            },
        },
        {
            "title": "Exploración",
            "text": {
                "status": "generated",
                "div": '<div xmlns="http://www.w3.org/1999/xhtml"><table><tr><td>FEVI</td><td>35 %</td></tr>'
                "</table></div>",
            },
            "section": [{"title": "Plan:", "text": {"div": "<div><p>Ecocardiograma.</p></div>"}}],
        },
        {"title": "Vacía", "section": 5},  # not a list: skipped
    ],
}
COMPOSITION_TEXT = (
    "Informe de alta\n\nAntecedentes personales:\n\nHTA. DM2.\n\nExploración:\n\nFEVI\t35 %\n\nPlan:\n\n"
    "Ecocardiograma.\n\nVacía:"
)


def test_composition_narrative():
    (rec,) = notes_from_resource(COMPOSITION)
    assert rec.error is None and rec.text == COMPOSITION_TEXT
    assert (rec.id, rec.patient_id, rec.date, rec.language) == ("c1", "p-9", "2024-05-02", "es")


def test_document_bundle_gives_its_composition():
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": COMPOSITION},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Patient", "id": "p-9"}},
            {"resource": {"resourceType": "DocumentReference", "id": "d9", "content": 7}},
        ],
    }
    recs = notes_from_resource(bundle)
    assert [(r.id, r.error_code) for r in recs] == [("c1", None), ("d9", "no_attachment")]
    assert recs[0].text == COMPOSITION_TEXT


def test_bulk_export_compositions(tmp_path):
    """Composition*.ndjson files of an export folder are notes, after the DocumentReferences; a
    single file's Composition lines are notes too, and its Binaries then are not."""
    from alia_clin.io.registry import detect_format

    other = {**COMPOSITION, "id": "c2"}
    _write_ndjson(tmp_path / "Composition.ndjson", [COMPOSITION, other])
    assert detect_format(tmp_path) == "fhir-ndjson"
    recs = list(iter_ndjson_notes(tmp_path))
    assert [(r.id, r.position) for r in recs] == [
        ("c1", "Composition.ndjson:1"),
        ("c2", "Composition.ndjson:2"),
    ]
    assert recs[0].text == COMPOSITION_TEXT
    _write_ndjson(tmp_path / "DocumentReference.ndjson", [docref("d1")])
    assert [r.id for r in iter_ndjson_notes(tmp_path)] == ["d1", "c1", "c2"]
    binary = {"resourceType": "Binary", "id": "b1", "contentType": "text/plain", "data": _b64(NOTE)}
    _write_ndjson(tmp_path / "mixed.ndjson", [binary, COMPOSITION])
    assert [r.id for r in iter_ndjson_notes(tmp_path / "mixed.ndjson")] == ["c1"]

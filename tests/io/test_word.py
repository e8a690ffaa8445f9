"""Word (.docx) reports: the body in reading order, tables as tab-separated cells, content
controls and text boxes kept, headers, deletions and field codes left out; a reports folder and a
FHIR attachment of them."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest

docx = pytest.importorskip("docx")

from docx.oxml import parse_xml  # noqa: E402

from alia_clin.io.markup import document_to_text  # noqa: E402
from alia_clin.io.registry import detect_format  # noqa: E402
from alia_clin.io.reports import iter_reports  # noqa: E402
from alia_clin.io.word import DOCX_TYPES, WordError, docx_to_text  # noqa: E402

_NS = (
    'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
    'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape" '
    'xmlns:v="urn:schemas-microsoft-com:vml"'
)
# A content control (structured document tag) holding a paragraph, as hospital templates use.
_SDT = (
    f"<w:sdt {_NS}><w:sdtPr><w:alias w:val=\"Juicio clínico\"/></w:sdtPr><w:sdtContent>"
    "<w:p><w:r><w:t>Insuficiencia cardiaca descompensada.</w:t></w:r></w:p></w:sdtContent></w:sdt>"
)
# A paragraph with a tracked deletion, a field code and a text box (modern + legacy copies).
_PARAGRAPH = (
    f"<w:p {_NS}><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr>"
    "<w:r><w:t xml:space=\"preserve\">Tratamiento: </w:t></w:r>"
    "<w:del w:id=\"1\" w:author=\"X\"><w:r><w:delText>digoxina</w:delText></w:r></w:del>"
    "<w:r><w:instrText xml:space=\"preserve\"> MERGEFIELD paciente </w:instrText></w:r>"
    "<w:r><w:t>furosemida</w:t><w:tab/><w:t>40 mg</w:t></w:r>"
    "<w:r><mc:AlternateContent><mc:Choice Requires=\"wps\"><w:drawing><wps:txbx><w:txbxContent>"
    "<w:p><w:r><w:t>Alergias: ninguna conocida.</w:t></w:r></w:p>"
    "</w:txbxContent></wps:txbx></w:drawing></mc:Choice><mc:Fallback><w:pict><v:textbox><w:txbxContent>"
    "<w:p><w:r><w:t>Alergias: ninguna conocida.</w:t></w:r></w:p>"
    "</w:txbxContent></v:textbox></w:pict></mc:Fallback></mc:AlternateContent></w:r></w:p>"
)
EXPECTED = (
    "INFORME DE ALTA\n"
    "Mujer de 68 años con disnea de esfuerzo.\n"
    "\n"  # the empty paragraph
    "Parámetro\tValor\n"
    "FEVI\t35 %\n"
    "NT-proBNP\t1.250 pg/ml\n"
    "BNP\t400 pg/ml\n"
    "Insuficiencia cardiaca descompensada.\n"
    "Tratamiento: furosemida\t40 mg\n"
    "Alergias: ninguna conocida."
)


def _report() -> bytes:
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Paciente: Lucía Ferrán Oliva. NHC 7788990"
    document.add_heading("INFORME DE ALTA", level=1)
    document.add_paragraph("Mujer de 68 años   con disnea de esfuerzo.")
    document.add_paragraph("")
    table = document.add_table(rows=0, cols=2)
    for label, value in (("Parámetro", "Valor"), ("FEVI", "35 %"), ("NT-proBNP", "1.250 pg/ml")):
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value
    # a template row wrapped in a content control
    table._tbl.append(parse_xml(
        f"<w:sdt {_NS}><w:sdtContent><w:tr><w:tc><w:p><w:r><w:t>BNP</w:t></w:r></w:p></w:tc>"
        "<w:tc><w:p><w:r><w:t>400 pg/ml</w:t></w:r></w:p></w:tc></w:tr></w:sdtContent></w:sdt>"
    ))
    body = document.element.body
    body.insert(len(body) - 1, parse_xml(_SDT))
    body.insert(len(body) - 1, parse_xml(_PARAGRAPH))
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_body_in_reading_order() -> None:
    raw = _report()
    assert docx_to_text(raw) == EXPECTED
    assert document_to_text(raw, "docx") == EXPECTED  # the dispatcher every reader uses
    assert "Lucía" not in EXPECTED  # the page header (the patient label) is left out


def test_not_a_word_document() -> None:
    for raw in (b"{\\rtf1 hola}", b"PK\x03\x04 broken", b""):
        with pytest.raises(WordError, match="not a Word document"):
            docx_to_text(raw)
    with pytest.raises(ValueError):  # WordError is a ValueError, as the other markup errors
        document_to_text(b"plain", "docx")


def test_reports_folder_reads_word_files(tmp_path: Path) -> None:
    (tmp_path / "alta-1.docx").write_bytes(_report())
    (tmp_path / "~$alta-1.docx").write_bytes(b"\x0cowner lock")  # Word's lock file: not a report
    (tmp_path / "roto.docx").write_bytes(b"not a zip")
    assert detect_format(tmp_path) == "reports"
    recs = list(iter_reports(tmp_path))
    assert [(r.id, r.error_code, (r.meta or {}).get("markup")) for r in recs] == [
        ("alta-1", None, "docx"),
        ("roto", "malformed", "docx"),
    ]
    assert recs[0].text == EXPECTED


def test_fhir_attachment() -> None:
    from alia_clin.fhir import notes_from_resource

    (ctype,) = DOCX_TYPES
    resource = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "status": "current",
        "content": [{"attachment": {"contentType": ctype, "data": base64.b64encode(_report()).decode()}}],
    }
    (rec,) = notes_from_resource(resource)
    assert rec.error is None and rec.text == EXPECTED
    resource["content"][0]["attachment"]["data"] = base64.b64encode(b"not a zip").decode()
    (bad,) = notes_from_resource(resource)
    assert (bad.error_code, bad.text) == ("invalid_docx", None) and "E405" in str(bad.error)

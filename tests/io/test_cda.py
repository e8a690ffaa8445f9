"""HL7 CDA R2 narrative extraction (synthetic documents: every name and number is invented)."""

from __future__ import annotations

import base64

import pytest

from alia_clin.io.cda import CdaError, cda_to_text, is_cda
from alia_clin.io.markup import detect_markup, markup_to_text

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="2.16.724.4.0" extension="inventado-1"/>
  <title>Informe de alta de hospitalización</title>
  <recordTarget><patientRole><patient><name><given>Inventada</given>
    <family>Apellidoficticio</family></name></patient></patientRole></recordTarget>
"""

STRUCTURED = (
    HEADER
    + """  <component><structuredBody>
    <component><section>
      <title>ANTECEDENTES PERSONALES</title>
      <text>
        <list><item>HTA.</item>
          <item>Diabetes mellitus <content styleCode="Bold">tipo 2</content>.</item></list>
      </text>
    </section></component>
    <component><section>
      <title>Enfermedad actual:</title>
      <text><paragraph>Mujer de 78 años con disnea
          de esfuerzo<br/>y edemas maleolares.</paragraph>
        <renderMultiMedia referencedObject="img1"/>
      </text>
      <component><section>
        <title>Pruebas complementarias</title>
        <text><table><thead><tr><th>Prueba</th><th>Valor</th></tr></thead>
          <tbody><tr><td>FEVI</td><td>35 %</td></tr><tr><td>NT-proBNP</td><td>1.250 pg/ml</td></tr></tbody>
        </table></text>
      </section></component>
    </section></component>
  </structuredBody></component>
</ClinicalDocument>
"""
)

EXPECTED = (
    "Informe de alta de hospitalización\n\n"
    "ANTECEDENTES PERSONALES:\n\nHTA.\n\nDiabetes mellitus tipo 2.\n\n"
    "Enfermedad actual:\n\nMujer de 78 años con disnea de esfuerzo\ny edemas maleolares.\n\n"
    "Pruebas complementarias:\n\nPrueba\tValor\n\nFEVI\t35 %\n\nNT-proBNP\t1.250 pg/ml"
)


def test_structured_body_sections_narrative_and_tables() -> None:
    text = cda_to_text(STRUCTURED)
    assert text == EXPECTED
    assert "Apellidoficticio" not in text and "Inventada" not in text  # the header is not note text


def test_bytes_honour_the_xml_declaration() -> None:
    latin = STRUCTURED.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    assert cda_to_text(latin) == EXPECTED


@pytest.mark.parametrize("representation", ["B64", "TXT"])
def test_non_xml_body_with_plain_text(representation: str) -> None:
    note = "Varón de 80 años.\nNiega dolor torácico.\n"
    content = base64.b64encode(note.encode()).decode() if representation == "B64" else note
    doc = (
        HEADER + f'<component><nonXMLBody><text mediaType="text/plain" representation="{representation}">'
        f"{content}</text></nonXMLBody></component></ClinicalDocument>"
    )
    assert cda_to_text(doc) == note


def test_non_xml_body_with_an_embedded_pdf_or_rtf() -> None:
    """Many shared reports are a PDF wrapped in CDA: the PDF's text is the note."""
    pytest.importorskip("pypdf")
    import base64

    from ..rtf import as_rtf
    from .test_pdf import PAGES, make_pdf

    def wrapped(media: str, payload: bytes) -> str:
        return (
            HEADER + f'<component><nonXMLBody><text mediaType="{media}" representation="B64">'
            f"{base64.b64encode(payload).decode()}</text></nonXMLBody></component></ClinicalDocument>"
        )

    assert cda_to_text(wrapped("application/pdf", make_pdf(PAGES))).startswith("INFORME DE ALTA\nMujer")
    rtf = as_rtf("Varón con disnea.\n").encode("ascii")
    assert cda_to_text(wrapped("text/rtf", rtf)) == "Varón con disnea.\n"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "disnea">]><x>&e;</x>', "DTDs"),
        ("<ClinicalDocument xmlns='urn:hl7-org:v3'><title>x</title>", "not well-formed"),
        ("<Patient xmlns='http://hl7.org/fhir'/>", "not an HL7 v3 ClinicalDocument"),
        (HEADER + "</ClinicalDocument>", "no body"),
        (
            HEADER + '<component><nonXMLBody><text mediaType="image/jpeg" representation="B64">'
            "/9j/4AAQ</text></nonXMLBody></component></ClinicalDocument>",
            "image/jpeg",
        ),
    ],
)
def test_refused_documents_say_why_without_text(source: str, reason: str) -> None:
    with pytest.raises(CdaError, match=reason) as info:
        cda_to_text(source)
    assert "disnea" not in str(info.value)


def test_detection_reads_only_the_opening() -> None:
    assert is_cda(STRUCTURED) and detect_markup(STRUCTURED) == "cda"
    assert markup_to_text(STRUCTURED, "cda") == EXPECTED
    assert detect_markup("Nota: se adjunta <ClinicalDocument> del hospital de origen.") is None

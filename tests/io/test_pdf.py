"""PDF reports with a text layer: pages in order, a scanned (text-less) or broken PDF refused with
a code; a reports folder and a FHIR attachment of them. The PDFs are built here, byte by byte."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

pytest.importorskip("pypdf")

from alia_clin.io.markup import document_to_text
from alia_clin.io.pdf import PdfError, pdf_to_text
from alia_clin.io.registry import detect_format
from alia_clin.io.reports import iter_reports

PAGES = [
    ["INFORME DE ALTA", "Mujer de 68 años con disnea de esfuerzo.", "FEVI 35 %. NT-proBNP 1.250 pg/ml."],
    ["Tratamiento: furosemida 40 mg (1-0-0)."],
]


def _escape(line: str) -> bytes:
    raw = line.encode("cp1252")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal PDF 1.4: one Helvetica text line per string (WinAnsi, so Spanish letters work)."""
    n = len(pages)
    page_ids = [4 + 2 * i for i in range(n)]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % p for p in page_ids) + b"] /Count %d >>" % n,
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    for pid, lines in zip(page_ids, pages, strict=True):
        shown = b" ".join(b"(" + _escape(x) + b") Tj T*" for x in lines)
        ops = b"BT /F1 11 Tf 14 TL 72 760 Td " + shown + b" ET"
        objects[pid] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % (pid + 1)
        )
        objects[pid + 1] = b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for oid in sorted(objects):
        offsets[oid] = len(out)
        out += b"%d 0 obj\n" % oid + objects[oid] + b"\nendobj\n"
    xref = len(out)
    size = max(objects) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    out += b"".join(b"%010d 00000 n \n" % offsets[i] for i in range(1, size))
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    return bytes(out)


def test_pages_in_order() -> None:
    text = pdf_to_text(make_pdf(PAGES))
    assert text == "\n".join(PAGES[0]) + "\n\n" + "\n".join(PAGES[1])
    assert document_to_text(make_pdf(PAGES), "pdf") == text


def test_refusals_are_coded() -> None:
    with pytest.raises(PdfError, match="text layer") as info:
        pdf_to_text(make_pdf([[]]))  # a page with nothing written: as a scanned report
    assert info.value.code == "no_text"
    for raw in (b"plain text", make_pdf(PAGES)[:200]):
        with pytest.raises(PdfError) as info:
            pdf_to_text(raw)
        assert info.value.code == "malformed"


def test_reports_folder_and_fhir_attachment(tmp_path: Path) -> None:
    from alia_clin.fhir import notes_from_resource

    (tmp_path / "alta.pdf").write_bytes(make_pdf(PAGES))
    (tmp_path / "escaneado.pdf").write_bytes(make_pdf([[]]))
    assert detect_format(tmp_path) == "reports"
    recs = {r.id: r for r in iter_reports(tmp_path)}
    assert recs["alta"].error is None and recs["alta"].text.startswith("INFORME DE ALTA\nMujer")
    assert (recs["escaneado"].error_code, recs["escaneado"].text) == ("no_text", None)
    resource = {
        "resourceType": "DocumentReference",
        "id": "d1",
        "status": "current",
        "content": [{"attachment": {"contentType": "application/pdf",
                                    "data": base64.b64encode(make_pdf(PAGES)).decode()}}],
    }
    (rec,) = notes_from_resource(resource)
    assert rec.text == recs["alta"].text
    resource["content"][0]["attachment"]["data"] = base64.b64encode(make_pdf([[]])).decode()
    (bad,) = notes_from_resource(resource)
    assert bad.error_code == "no_text" and "E405" in str(bad.error)

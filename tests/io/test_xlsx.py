"""Excel workbooks as input: the reader (values, escapes, dates, blank rows, sheets, errors) and a
batch run with a de-identified copy."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.io.options import ReaderOptions
from alia_clin.io.registry import detect_format

openpyxl = pytest.importorskip("openpyxl")

from alia_clin.io.xlsx import iter_xlsx_notes  # noqa: E402

NOTE = "Paciente: Lucía Ferrán Oliva. NHC: 7788990.\r\nMujer de 68 años con disnea de esfuerzo. FEVI 35 %."


def _workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def _raw_text(path: Path, old: str, new: str) -> None:
    """Rewrite a string inside the saved workbook's XML, as Excel itself would have stored it."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data.replace(old.encode(), new.encode())
            dst.writestr(item, data)
    tmp.replace(path)


def test_rows_become_records(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "notas.xlsx",
        {
            "Notas": [
                ["id", "nhc", "fecha", "texto"],
                [1001, "P-1", datetime(2024, 3, 5), "LINEA1 con disnea. LINEA2 FEVI 35 %."],
                [None, None, None, None],  # blank row: skipped
                ["n2", "P-2", datetime(2024, 3, 6, 9, 30), "Sin disnea."],
                ["n3", "P-3", date(2024, 3, 7), None],
                [None, "P-4", None, "Nota sin id."],
            ]
        },
    )
    # Excel stores the carriage return of a multi-line cell as the escape _x000D_
    _raw_text(path, "LINEA1 con disnea. LINEA2", "LINEA1 con disnea._x000D_\nLINEA2")
    options = ReaderOptions(id_col="id", text_col="texto", patient_col="nhc", date_col="fecha")
    recs = list(iter_xlsx_notes(path, options))
    assert [(r.id, r.error_code, r.position) for r in recs] == [
        ("1001", None, "row 1 (spreadsheet row 2)"),
        ("n2", None, "row 2 (spreadsheet row 4)"),
        ("n3", "missing_text", "row 3 (spreadsheet row 5)"),
        ("row-4", "missing_id", "row 4 (spreadsheet row 6)"),
    ]
    assert recs[0].text == "LINEA1 con disnea.\r\nLINEA2 FEVI 35 %."
    assert (recs[0].patient_id, recs[0].date, recs[1].date) == ("P-1", "2024-03-05", "2024-03-06T09:30:00")
    json.dumps(recs[0].meta)  # the source row is JSON-able (it is written to the de-identified copy)


def test_sheet_choice_and_errors(tmp_path: Path) -> None:
    path = _workbook(
        tmp_path / "libro.xlsx",
        {"Resumen": [["total"], [3]], "Notas": [["id", "text"], ["a", "Disnea."]]},
    )
    assert detect_format(path) == "xlsx"
    with pytest.raises(AliaClinValueError, match="E501"):  # the first sheet has no such columns
        list(iter_xlsx_notes(path, ReaderOptions()))
    assert [r.text for r in iter_xlsx_notes(path, ReaderOptions(sheet="Notas"))] == ["Disnea."]
    with pytest.raises(AliaClinValueError, match="E513"):
        list(iter_xlsx_notes(path, ReaderOptions(sheet="Hoja1")))
    fake = tmp_path / "fake.xlsx"
    fake.write_text("id,text\n1,hola\n", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match="E512"):
        list(iter_xlsx_notes(fake, ReaderOptions()))
    legacy = tmp_path / "viejo.xls"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert detect_format(legacy) == "xlsx"
    with pytest.raises(AliaClinValueError, match=r"E512.*legacy"):
        list(iter_xlsx_notes(legacy, ReaderOptions()))
    with pytest.raises(AliaClinValueError, match="E500"):
        list(iter_xlsx_notes(tmp_path / "missing.xlsx", ReaderOptions()))


def test_manifest_options_unchanged_without_a_sheet() -> None:
    assert "sheet" not in ReaderOptions().to_dict()
    assert ReaderOptions(sheet="Notas").to_dict()["sheet"] == "Notas"


@pytest.mark.slow
def test_batch_run_writes_a_deidentified_jsonl_copy(tmp_path: Path) -> None:
    from alia_clin import load
    from alia_clin.batch.run import run_batch

    path = _workbook(
        tmp_path / "altas.xlsx",
        {"Altas": [["id", "text", "servicio"], ["a1", NOTE, "Cardiología"], ["a2", "Sin disnea.", "MI"]]},
    )
    out = tmp_path / "out"
    summary = run_batch(
        load(Path(__file__).resolve().parents[2] / "models" / "alia-clin-rules"),
        path,
        out,
        output_formats=["deid-copy", "jsonl"],
        tasks=["deid"],
        operator="mask",
    )
    assert (summary.processed, summary.failed) == (2, 0)
    rows = [json.loads(line) for line in (out / "altas.deid.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["servicio"]) for r in rows] == [("a1", "Cardiología"), ("a2", "MI")]
    assert not any(p in rows[0]["text"] for p in ("Lucía", "Ferrán", "Oliva", "7788990"))
    assert "disnea de esfuerzo" in rows[0]["text"]

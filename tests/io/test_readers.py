"""Readers of exports: CSV/TSV (BOM, ``;``, quoting), JSONL, Parquet; bad rows become records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.io.jsonl import iter_jsonl_notes
from alia_clin.io.options import ReaderOptions
from alia_clin.io.registry import detect_format, get_input_format, register_reader
from alia_clin.io.tabular import iter_csv_notes

from .test_cda import EXPECTED, STRUCTURED

NOTE_A = "Paciente con disnea.\nNiega fiebre."
NOTE_B = 'Dolor "opresivo"; irradiado; sin síncope.'


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_excel_csv_with_bom_semicolon_quotes_and_newlines(tmp_path: Path) -> None:
    body = 'nid;pac;fecha;nota\r\n1;P1;2024-01-02;"Paciente con disnea.\nNiega fiebre."\r\n'
    body += '2;P2;;"Dolor ""opresivo""; irradiado; sin síncope."\r\n'
    path = _write(tmp_path / "export.csv", b"\xef\xbb\xbf" + body.encode("utf-8"))
    opts = ReaderOptions(id_col="nid", text_col="nota", patient_col="pac", date_col="fecha")
    recs = list(iter_csv_notes(path, opts))
    assert [r.id for r in recs] == ["1", "2"]
    assert recs[0].text == NOTE_A and recs[1].text == NOTE_B
    assert recs[0].patient_id == "P1" and recs[0].date == "2024-01-02" and recs[1].date is None
    assert recs[0].position == "row 1 (line 3)"
    assert recs[0].meta is not None and list(recs[0].meta["row"]) == ["nid", "pac", "fecha", "nota"]


def test_tsv_latin1_and_explicit_options(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.tsv", "id\ttext\tlang\nA\tNiño con fiebre.\tca\n".encode("latin-1"))
    recs = list(get_input_format("tsv").reader(path, ReaderOptions(encoding="latin-1", lang_col="lang")))
    assert recs[0].text == "Niño con fiebre." and recs[0].language == "ca"


RTF_BODY = r"{\rtf1\ansi\ansicpg1252{\fonttbl{\f0 Arial;}}\f0 Var\'f3n con disnea.\par Niega fiebre.\par}"
HTML_BODY = "<!DOCTYPE html><html><body><p>Ni&ntilde;o con fiebre.</p><p>Sin tos.</p></body></html>"


def _markup_jsonl(tmp_path: Path) -> Path:
    rows = [
        {"id": "r", "text": RTF_BODY},
        {"id": "h", "text": HTML_BODY},
        {"id": "c", "text": STRUCTURED},
        {"id": "p", "text": "Nota con el texto {\\rtf1 citado} y <html> en medio."},
    ]
    return _write(tmp_path / "x.jsonl", "".join(json.dumps(r) + "\n" for r in rows).encode())


def test_markup_auto_converts_whole_rtf_and_html_documents(tmp_path: Path) -> None:
    recs = {r.id: r for r in iter_jsonl_notes(_markup_jsonl(tmp_path), ReaderOptions())}
    assert recs["r"].text == "Varón con disnea.\nNiega fiebre.\n"
    assert recs["h"].text == "Niño con fiebre.\n\nSin tos."
    assert recs["p"].text == "Nota con el texto {\\rtf1 citado} y <html> en medio."  # not a document
    assert recs["c"].text == EXPECTED  # an HL7 CDA document
    assert [(recs[k].meta or {}).get("markup") for k in "rhcp"] == ["rtf", "html", "cda", None]
    assert recs["r"].meta is not None and recs["r"].meta["row"]["text"] == RTF_BODY  # the source row


def test_markup_none_and_forced(tmp_path: Path) -> None:
    path = _markup_jsonl(tmp_path)
    assert next(r.text for r in iter_jsonl_notes(path, ReaderOptions(markup="none"))) == RTF_BODY
    recs = {r.id: r for r in iter_jsonl_notes(path, ReaderOptions(markup="rtf"))}
    assert recs["r"].error is None
    assert recs["p"].text is None and recs["p"].error_code == "malformed"  # not RTF: a coded record
    assert recs["p"].error == "column 'text' is not valid RTF"
    with pytest.raises(AliaClinValueError, match="E507"):
        ReaderOptions(markup="pdf")


def test_bad_csv_rows_are_records_not_exceptions(tmp_path: Path) -> None:
    data = b"id,text\n" + b"a,fine note here\n" + b"b,bad \xff\xfe bytes\n" + b"c,too,many,fields\n"
    data += b",no id\n" + b"e,   \n" + b"f,last good\n"
    recs = list(iter_csv_notes(_write(tmp_path / "bad.csv", data), ReaderOptions()))
    codes = {r.id: r.error_code for r in recs}
    assert codes == {"a": None, "b": "invalid_encoding", "row-3": "malformed", "row-4": "missing_id",
                     "e": "empty", "f": None}
    for r in recs:  # reasons name columns and counts, never cell content
        for word in ("bad", "too", "many", "no id"):
            assert word not in (r.error or "")


def test_missing_column_is_a_coded_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.csv", b"id,body\n1,x\n")
    with pytest.raises(AliaClinValueError, match="E501"):
        list(iter_csv_notes(path, ReaderOptions()))


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": 1, "text": NOTE_A, "patient": "P"}).encode(),
        b'{"id": 2, "text": "unterminated',
        b"[1, 2]",
        b'{"id": 4, "text": "caf\xe9"}',
        b"",
        json.dumps({"id": 5, "text": 7}).encode(),
        json.dumps({"id": 6}).encode(),
    ]
    path = _write(tmp_path / "x.jsonl", b"\n".join(lines) + b"\n")
    recs = list(iter_jsonl_notes(path, ReaderOptions(patient_col="patient")))
    assert [(r.id, r.error_code) for r in recs] == [
        ("1", None), ("line-2", "malformed"), ("line-3", "malformed"), ("line-4", "invalid_encoding"),
        ("5", "malformed"), ("6", "missing_text"),
    ]
    assert recs[0].patient_id == "P" and recs[1].position == "line 2"
    assert all("unterminated" not in (r.error or "") for r in recs)


def test_parquet_reader_streams_rows(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": [1, 2, 3], "text": [NOTE_A, None, NOTE_B], "d": ["2024-01-01", None, None]})
    path = tmp_path / "x.parquet"
    pq.write_table(table, path, row_group_size=2)
    from alia_clin.io.parquet import count_rows, iter_parquet_notes

    recs = list(iter_parquet_notes(path, ReaderOptions(date_col="d"), batch_rows=1))
    assert count_rows(path) == 3
    assert [(r.id, r.error_code, r.position) for r in recs] == [
        ("1", None, "row 1"), ("2", "missing_text", "row 2"), ("3", None, "row 3"),
    ]
    assert recs[0].date == "2024-01-01"


def test_detect_format_and_registry(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    assert detect_format(tmp_path / "d") == "txt"
    for name, fmt in (("a.csv", "csv"), ("a.TSV", "tsv"), ("a.jsonl", "jsonl"), ("a.parquet", "parquet"),
                      ("Bulk.ndjson", "fhir-ndjson")):
        (tmp_path / name).write_text("", encoding="utf-8")
        assert detect_format(tmp_path / name) == fmt
    (tmp_path / "a.xml").write_text("", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match="E508"):
        detect_format(tmp_path / "a.xml")
    with pytest.raises(AliaClinValueError, match="E006"):
        detect_format(tmp_path / "nope")
    with pytest.raises(AliaClinValueError, match="E510"):
        register_reader(get_input_format("csv"))
    with pytest.raises(AliaClinValueError, match="E012"):
        get_input_format("xml")


def test_fhir_reader_missing_module_is_coded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "alia_clin.fhir", None)  # makes the import fail
    path = tmp_path / "DocumentReference.ndjson"
    path.write_text("{}\n", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match="E502"):
        list(get_input_format("fhir-ndjson").reader(path, ReaderOptions()))


def test_folder_notes_decode_in_the_given_encoding(tmp_path: Path) -> None:
    from alia_clin.io.folders import read_note, text_encoding

    assert text_encoding("utf-8-sig") == text_encoding("UTF8") == "utf-8"
    assert text_encoding("windows-1252") == "cp1252"
    note = _write(tmp_path / "a.txt", NOTE_B.encode("latin-1"))
    assert read_note(note).error_code == "invalid_encoding"
    assert read_note(note, "latin-1").text == NOTE_B
    # a UTF-8 byte-order mark stays the note's first character under the default encoding too
    bom = _write(tmp_path / "b.txt", b"\xef\xbb\xbf" + NOTE_A.encode())
    assert read_note(bom, "utf-8-sig").text == "\ufeff" + NOTE_A == read_note(bom).text
    with pytest.raises(AliaClinValueError, match="E507"):
        ReaderOptions(encoding="no-such-codec")


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_windows_unicode_exports_are_read_by_their_byte_order_mark(tmp_path: Path, codec: str) -> None:
    from alia_clin.io.folders import read_note

    bom = "\ufeff".encode(codec)
    note = _write(tmp_path / "a.txt", bom + NOTE_A.encode(codec))
    assert read_note(note).text == NOTE_A == read_note(note, "utf-8-sig").text  # the mark is no text
    assert read_note(note, "latin-1").text != NOTE_A  # a non-UTF-8 setting is the user's word
    body = "id;nota\r\n1;" + NOTE_B.replace('"', '""').join('""') + "\r\n"
    path = _write(tmp_path / "export.csv", bom + body.encode(codec))
    recs = list(iter_csv_notes(path, ReaderOptions(text_col="nota")))
    assert [(r.id, r.text) for r in recs] == [("1", NOTE_B)]

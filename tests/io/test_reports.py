"""A folder of report files (RTF, HTML, CDA) as input, and the ``text`` output beside BRAT."""

from __future__ import annotations

import json
from pathlib import Path

from spacy.language import Language

from alia_clin import load
from alia_clin.batch.run import run_batch
from alia_clin.io.registry import detect_format
from alia_clin.io.reports import iter_reports

from ..rtf import as_rtf
from .test_cda import EXPECTED, STRUCTURED

NOTE = "Paciente: Lucía Ferrán Oliva. NHC 7788990.\nMujer de 80 años con disnea y edemas.\n"
HTML = "<html><body><p>Varón con dolor torácico.</p><table><tr><td>FEVI</td><td>40 %</td></tr></table>"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "informes"
    folder.mkdir()
    (folder / "a.rtf").write_text(as_rtf(NOTE), encoding="ascii")
    (folder / "b.XML").write_text(STRUCTURED, encoding="utf-8")
    (folder / "c.htm").write_bytes(HTML.encode("cp1252"))
    (folder / "d.xml").write_text("<ClinicalDocument><title>roto", encoding="utf-8")
    (folder / "e.odt").write_bytes(b"PK\x03\x04")  # not a report format: not listed
    return folder


def test_reader_converts_each_format_and_codes_failures(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    assert detect_format(folder) == "reports"
    recs = {r.id: r for r in iter_reports(folder, encoding="cp1252")}
    assert sorted(recs) == ["a", "b", "c", "d"]
    assert recs["a"].text == NOTE and recs["b"].text == EXPECTED
    assert recs["c"].text == "Varón con dolor torácico.\n\nFEVI\t40 %"
    assert [(recs[k].meta or {})["markup"] for k in "abcd"] == ["rtf", "cda", "html", "cda"]
    bad = recs["d"]
    assert bad.text is None and bad.error_code == "malformed" and bad.position == "file d.xml"
    assert bad.error is not None and bad.error.startswith("CDA: not well-formed XML")


def test_a_mixed_folder_reads_its_txt_notes_too(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    (folder / "z.txt").write_text(NOTE, encoding="cp1252")  # the folder's encoding, as c.htm
    assert detect_format(folder) == "reports"
    recs = {r.id: r for r in iter_reports(folder, encoding="cp1252")}
    assert sorted(recs) == ["a", "b", "c", "d", "z"]
    assert recs["z"].text == NOTE and recs["z"].meta is None and recs["z"].position == "file z.txt"
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "n.txt").write_text(NOTE, encoding="utf-8")
    assert detect_format(tmp_path / "plain") == "txt"  # only notes: the BRAT folder contract
    (tmp_path / "plain" / "n.xml").write_text("<xmi:XMI/>", encoding="utf-8")
    assert detect_format(tmp_path / "plain") == "txt"  # an annotation export is no report


def test_process_writes_ann_offsets_into_the_text_output(tmp_path: Path) -> None:
    nlp: Language = load()
    out = tmp_path / "out"
    summary = run_batch(
        nlp, _folder(tmp_path), out, input_format="reports", output_formats=["brat", "text"], tasks=["deid"]
    )
    assert (summary.processed, summary.failed) == (2, 2)  # c.htm is cp1252: the default UTF-8 fails it
    errors = [json.loads(line) for line in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(e["id"], e["code"]) for e in errors] == [("c", "invalid_encoding"), ("d", "malformed")]
    text = (out / "text" / "a.txt").read_text(encoding="utf-8")
    assert text == NOTE
    ann = (out / "a.ann").read_text(encoding="utf-8")
    spans = [line.split("\t") for line in ann.splitlines()]
    for _, label_offsets, covered in spans:  # every span's offsets point at its text
        start, end = (int(x) for x in label_offsets.split()[1:3])
        assert text[start:end] == covered
    assert {"Lucía Ferrán Oliva", "7788990"} <= {covered for *_, covered in spans}
    assert not (out / "text" / "d.txt").exists()

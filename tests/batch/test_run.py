"""Batch runs: outputs per format, bad records, resume from the manifest, --force, mismatch."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from spacy.language import Language

from alia_clin import load
from alia_clin.batch.layout import RunLayout
from alia_clin.batch.manifest import load_manifest
from alia_clin.batch.run import run_batch
from alia_clin.batch.synthetic import synthetic_rows, write_csv, write_jsonl
from alia_clin.errors import AliaClinValueError
from alia_clin.io.options import ReaderOptions

from ..rtf import as_rtf


@pytest.fixture(scope="module")
def nlp() -> Language:
    return load()


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_jsonl_export_all_formats_exactly_once(nlp: Language, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "notes.jsonl", 25, seed=3)
    out = tmp_path / "out"
    summary = run_batch(nlp, src, out, output_formats=["jsonl", "entities-csv", "deid-copy"],
                        tasks=["deid"], chunk_size=7, reader_options=ReaderOptions(patient_col="patient"))
    assert (summary.processed, summary.failed, summary.skipped, summary.chunks) == (25, 0, 0, 4)
    ids = [r["id"] for r in synthetic_rows(25, seed=3)]
    assert [d["id"] for d in _lines(out / "documents.jsonl")] == ids
    assert [d["id"] for d in _lines(out / "annotations.jsonl")] == ids
    copy = _lines(out / "notes.deid.jsonl")
    assert [c["id"] for c in copy] == ids
    originals = {r["id"]: r for r in synthetic_rows(25, seed=3)}
    for row in copy:  # only the text column changes; PHI values are gone from it
        orig = originals[row["id"]]
        assert {k: v for k, v in row.items() if k != "text"} == {k: v for k, v in orig.items() if k != "text"}
        assert "NHC" in row["text"] and "[ID_SUJETO_ASISTENCIA]" in row["text"]
    with (out / "entities.csv").open(encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert {r["note_id"] for r in table} == set(ids)
    assert all(r["kind"] == "phi" and r["text"] == "" for r in table)  # default policy: no span text
    assert not RunLayout(out).parts.exists()
    manifest = load_manifest(RunLayout(out).manifest)
    assert manifest is not None and manifest.complete and manifest.totals()["records"] == 25


def test_csv_copy_keeps_dialect_bom_and_failed_rows(nlp: Language, tmp_path: Path) -> None:
    src = write_csv(tmp_path / "export.csv", 6, seed=1, delimiter=";", bom=True)
    with src.open("ab") as fh:  # an empty note and an oversize one
        fh.write(b"note-x;pat-1;2024-01-01;   \r\n")
        fh.write(("note-y;pat-1;2024-01-01;" + "Paciente con disnea. " * 20 + "\r\n").encode())
    out = tmp_path / "out"
    summary = run_batch(nlp, src, out, output_formats=["deid-copy"], tasks=["deid"], max_chars=300,
                        operator="mask")
    assert (summary.processed, summary.failed, summary.total_failed) == (6, 2, 2)
    errors = {e["id"]: e for e in _lines(out / "errors.jsonl")}
    assert errors["note-x"]["code"] == "empty" and errors["note-y"]["code"] == "oversize"
    assert errors["note-y"]["position"] == "row 8 (line 9)"
    assert "disnea" not in (out / "errors.jsonl").read_text(encoding="utf-8")
    raw = (out / "export.deid.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid;patient;date;text\r\n")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert [r["id"] for r in rows] == [*(f"note-{i:06d}" for i in range(1, 7)), "note-x", "note-y"]
    assert rows[-1]["text"] == "" and rows[-2]["text"] == ""
    assert all("NHC" in r["text"] for r in rows[:6])


def test_rtf_text_column_is_deidentified_as_plain_text(nlp: Language, tmp_path: Path) -> None:
    note = "Paciente: Lucía Ferrán Oliva. NHC: 7788990.\nMujer con disnea de esfuerzo.\n"
    src = tmp_path / "export.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerow(["n1", as_rtf(note)])
    out = tmp_path / "out"
    run_batch(nlp, src, out, output_formats=["deid-copy", "jsonl"], tasks=["deid"], operator="mask")
    (row,) = csv.DictReader((out / "export.deid.csv").read_text(encoding="utf-8-sig").splitlines())
    for phi in ("Lucía", "Luc\\'eda", "Ferr", "Oliva", "7788990"):
        assert phi not in row["text"]
    assert "\\rtf1" not in row["text"] and "con disnea de esfuerzo." in row["text"]
    assert _lines(out / "documents.jsonl")[0]["markup"] == "rtf"
    (ann,) = _lines(out / "annotations.jsonl")
    assert {"Lucía Ferrán Oliva", "7788990"} <= {note[e["start"] : e["end"]] for e in ann["phi"]}


def test_parquet_in_entity_parquet_and_copy_out(nlp: Language, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = list(synthetic_rows(9, seed=2))
    schema = pa.schema([("id", pa.string()), ("patient", pa.string()), ("date", pa.string()),
                        ("text", pa.string())])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "x.parquet")
    out = tmp_path / "out"
    run_batch(nlp, tmp_path / "x.parquet", out, output_formats=["entities-parquet", "deid-copy"],
              tasks=["deid"], chunk_size=4, entity_text="all")
    table = pq.read_table(out / "entities.parquet")
    assert table.schema.field("start").type == pa.int64()
    got = table.to_pylist()
    texts = {r["id"]: r["text"] for r in rows}
    for r in got:  # policy "all": the span text is the exact slice of the note
        assert texts[r["note_id"]][r["start"]:r["end"]] == r["text"]
    copy = pq.read_table(out / "x.deid.parquet")
    assert copy.schema.equals(schema) and copy.column("id").to_pylist() == [r["id"] for r in rows]


def test_resume_skips_finished_chunks_and_redoes_partial(nlp: Language, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "n.jsonl", 20, seed=4)
    out = tmp_path / "out"
    first = run_batch(nlp, src, out, tasks=["deid"], chunk_size=5, output_formats=["jsonl"])
    assert first.processed == 20
    # Simulate a kill after chunk 2 of a second run: drop chunks 2-3 from the manifest, remove
    # the final files and leave a half-written part and a stale temporary behind.
    layout = RunLayout(out)
    manifest = load_manifest(layout.manifest)
    assert manifest is not None
    manifest.complete = False
    manifest.chunks = {k: v for k, v in manifest.chunks.items() if k in ("0", "1")}
    manifest.save(layout.manifest)
    for c in (0, 1):
        for name in ("documents", "errors", "jsonl"):
            layout.part(name, c, ".jsonl").parent.mkdir(parents=True, exist_ok=True)
    # parts of finished chunks must exist for the merge: re-create them from the first run's output
    docs = (out / "documents.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    anns = (out / "annotations.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    for c in (0, 1):
        layout.part("documents", c, ".jsonl").write_text("".join(docs[5 * c:5 * c + 5]), encoding="utf-8")
        layout.part("jsonl", c, ".jsonl").write_text("".join(anns[5 * c:5 * c + 5]), encoding="utf-8")
        layout.part("errors", c, ".jsonl").write_text("", encoding="utf-8")
    layout.part("documents", 2, ".jsonl").write_text(docs[10], encoding="utf-8")  # partial, unrecorded
    (layout.part_dir("jsonl") / ".00000002.jsonl.999.tmp").write_text("junk", encoding="utf-8")
    (out / "documents.jsonl").unlink()
    second = run_batch(nlp, src, out, tasks=["deid"], chunk_size=5, output_formats=["jsonl"])
    assert (second.processed, second.skipped) == (10, 10)
    ids = [d["id"] for d in _lines(out / "documents.jsonl")]
    assert ids == [r["id"] for r in synthetic_rows(20, seed=4)]
    assert len(_lines(out / "annotations.jsonl")) == 20
    third = run_batch(nlp, src, out, tasks=["deid"], chunk_size=5, output_formats=["jsonl"])
    assert (third.processed, third.skipped) == (0, 20)  # complete: nothing to redo


def test_changed_input_or_options_need_force(nlp: Language, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "n.jsonl", 4)
    out = tmp_path / "out"
    run_batch(nlp, src, out, tasks=["deid"])
    with pytest.raises(AliaClinValueError, match=r"E505.*options \(operator\)"):
        run_batch(nlp, src, out, tasks=["deid"], operator="mask")
    with pytest.raises(AliaClinValueError, match=r"E505.*chunk size"):
        run_batch(nlp, src, out, tasks=["deid"], chunk_size=2)
    write_jsonl(src, 5)
    with pytest.raises(AliaClinValueError, match=r"E505.*input"):
        run_batch(nlp, src, out, tasks=["deid"])
    again = run_batch(nlp, src, out, tasks=["deid"], force=True)
    assert (again.processed, again.skipped) == (5, 0)
    RunLayout(out).manifest.write_text("{not json", encoding="utf-8")
    with pytest.raises(AliaClinValueError, match="E506"):
        run_batch(nlp, src, out, tasks=["deid"])


def test_option_errors_are_coded(nlp: Language, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "n.jsonl", 2)
    with pytest.raises(AliaClinValueError, match="E504"):
        run_batch(nlp, src, tmp_path / "o", input_format="fhir-ndjson", output_formats=["deid-copy"])
    with pytest.raises(AliaClinValueError, match="E507"):
        run_batch(nlp, src, tmp_path / "o", chunk_size=0)
    with pytest.raises(AliaClinValueError, match="E507"):
        run_batch(nlp, src, tmp_path / "o", entity_text="some")
    with pytest.raises(AliaClinValueError, match="E005"):
        run_batch(nlp, src, tmp_path / "o", language="fr")
    with pytest.raises(AliaClinValueError, match="E011"):
        run_batch(nlp, src, tmp_path / "o", output_formats=["xml"])


def test_fhir_outputs_need_the_fhir_module(nlp: Language, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "alia_clin.fhir", None)
    src = write_jsonl(tmp_path / "n.jsonl", 2)
    for fmt in ("fhir-ndjson", "fhir-bundle"):
        with pytest.raises(AliaClinValueError, match="E503"):
            run_batch(nlp, src, tmp_path / "o", output_formats=[fmt])


def test_fhir_outputs_bulk_layout_and_bundles(nlp: Language, tmp_path: Path) -> None:
    """Each note's Bundle split by resource type (Bulk Data layout): one DocumentReference per
    note, the shared Patient / Device resources once per id, bundles valid for the R4 models."""
    from alia_clin.fhir import validate_bundle

    src = write_jsonl(tmp_path / "n.jsonl", 6)
    out = tmp_path / "out"
    run_batch(nlp, src, out, output_formats=["fhir-ndjson", "fhir-bundle"], tasks=["deid", "ner", "context"],
              chunk_size=4, secret="test-secret", reader_options=ReaderOptions(patient_col="patient"))
    refs = _lines(out / "DocumentReference.ndjson")
    assert len(refs) == 6 and len({r["id"] for r in refs}) == 6
    devices = _lines(out / "Device.ndjson")
    assert len(devices) == 1
    patients = _lines(out / "Patient.ndjson")
    assert len({p["id"] for p in patients}) == len(patients) >= 1
    bundles = _lines(out / "bundles.ndjson")
    assert len(bundles) == 6
    for bundle in bundles:
        validate_bundle(bundle, "R4")
    doc_refs = [e["resource"]["id"] for b in bundles for e in b["entry"]
                if e["resource"]["resourceType"] == "DocumentReference"]
    assert doc_refs == [r["id"] for r in refs]


def test_bulk_fhir_export_in_fhir_out(nlp: Language, tmp_path: Path) -> None:
    """A Bulk Data export (inline and Binary attachments, one malformed line) through
    ``run_batch``: good notes become Bulk NDJSON output, the bad line goes to errors.jsonl."""
    import base64

    from alia_clin.batch.synthetic import synthetic_rows

    rows = list(synthetic_rows(3, seed=5))
    export = tmp_path / "export"
    export.mkdir()

    def b64(text: str) -> str:
        return base64.b64encode(text.encode("utf-8")).decode("ascii")

    refs = []
    for i, row in enumerate(rows):
        attachment: dict[str, Any] = {"contentType": "text/plain; charset=utf-8"}
        if i == 1:
            attachment["url"] = "Binary/bin-1"
        else:
            attachment["data"] = b64(row["text"])
        refs.append({"resourceType": "DocumentReference", "id": row["id"], "status": "current",
                     "subject": {"reference": f"Patient/{row['patient']}"},
                     "content": [{"attachment": attachment}]})
    lines = [json.dumps(r) for r in refs] + ["{not json"]
    (export / "DocumentReference.ndjson").write_text("\n".join(lines) + "\n", encoding="utf-8")
    binary = {"resourceType": "Binary", "id": "bin-1", "contentType": "text/plain",
              "data": b64(rows[1]["text"])}
    (export / "Binary.ndjson").write_text(json.dumps(binary) + "\n", encoding="utf-8")

    out = tmp_path / "out"
    summary = run_batch(nlp, export, out, input_format="fhir-ndjson", output_formats=["fhir-ndjson"],
                        tasks=["deid", "ner", "context"], secret="s")
    assert (summary.processed, summary.failed) == (3, 1)
    assert [d["status"] for d in _lines(out / "documents.jsonl")] == ["ok", "ok", "ok", "error"]
    errors = _lines(out / "errors.jsonl")
    assert len(errors) == 1 and "not json" not in json.dumps(errors)
    assert len(_lines(out / "DocumentReference.ndjson")) == 3

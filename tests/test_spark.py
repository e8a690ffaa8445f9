"""``alia_clin.spark.annotate`` in local[2]: the same results as a single-process run."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from alia_clin import load
from alia_clin.batch.processor import make_doc
from alia_clin.batch.synthetic import synthetic_rows
from alia_clin.errors import AliaClinValueError
from alia_clin.io.entity_table import entity_rows
from alia_clin.io.folders import NoteRecord
from alia_clin.io.language import resolve_language
from alia_clin.io.writers import deidentified_text
from alia_clin.spark import annotate

from .rtf import as_rtf

pytestmark = pytest.mark.slow

ROWS = [(r["id"], r["text"]) for r in synthetic_rows(24, seed=5)] + [("bad-empty", "  "), ("bad-null", None)]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (
        SparkSession.builder.master("local[2]").appName("alia-clin-test")
        .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "8")
        .getOrCreate()
    )
    yield session
    session.stop()


def _local_docs(tasks: list[str]) -> dict[str, Any]:
    from alia_clin.runner import pipes_to_disable

    nlp = load()
    docs = {}
    with nlp.select_pipes(disable=pipes_to_disable(nlp, tasks, entities_given=False)):
        for note_id, text in ROWS:
            if text and text.strip():
                doc = make_doc(nlp, NoteRecord(note_id, text), resolve_language(text, None, "auto"), None)
                docs[note_id] = nlp(doc)
    return docs


def test_entities_match_single_process(spark: Any) -> None:
    df = spark.createDataFrame(ROWS, "id string, text string").repartition(2)
    result = annotate(df, tasks=["deid", "ner", "context"], output="entities", entity_text="all")
    assert [f.dataType.simpleString() for f in result.schema.fields][:5] == [
        "string", "string", "string", "bigint", "bigint"]
    got = sorted(tuple(r) for r in result.collect())
    expected = sorted(tuple(row.values()) for doc in _local_docs(["deid", "ner", "context"]).values()
                      for row in entity_rows(doc, text_policy="all"))
    assert got and got == expected


def test_deid_rows_match_and_bad_notes_are_flagged(spark: Any) -> None:
    df = spark.createDataFrame(ROWS, "id string, text string").repartition(2)
    rows = {r["note_id"]: r for r in annotate(df, tasks=["deid"], output="deid", operator="mask").collect()}
    assert set(rows) == {i for i, _ in ROWS}
    assert rows["bad-empty"]["status"] == "error" and rows["bad-empty"]["error"] == "empty"
    assert rows["bad-null"]["error"] == "missing_text" and rows["bad-null"]["deid_text"] is None
    for note_id, doc in _local_docs(["deid"]).items():
        assert rows[note_id]["status"] == "ok"
        assert rows[note_id]["deid_text"] == deidentified_text(doc, "mask", patient_key=doc._.patient_id)
        assert rows[note_id]["language"] == doc._.language


def test_rtf_notes_are_read_as_plain_text(spark: Any) -> None:
    note = "Paciente: Lucía Ferrán Oliva. NHC: 7788990.\nMujer con disnea de esfuerzo.\n"
    df = spark.createDataFrame([("r1", as_rtf(note))], "id string, text string")
    rows = {r["note_id"]: r for r in annotate(df, tasks=["deid"], output="deid", operator="mask").collect()}
    assert rows["r1"]["status"] == "ok" and "\\rtf1" not in rows["r1"]["deid_text"]
    assert not any(p in rows["r1"]["deid_text"] for p in ("Luc", "Ferr", "Oliva", "7788990"))
    assert "con disnea de esfuerzo." in rows["r1"]["deid_text"]
    with pytest.raises(AliaClinValueError, match="E511"):
        annotate(df, markup="docx")


def test_plain_text_gives_the_text_the_offsets_refer_to(spark: Any) -> None:
    from alia_clin.spark import plain_text

    note = "Paciente: Lucía Ferrán Oliva.\nMujer con disnea de esfuerzo. FEVI 35 %.\n"
    data = [("r1", as_rtf(note)), ("h1", "<div><b>Paciente:</b> Lucía Ferrán<br>FEVI 35 %</div>"),
            ("p1", note), ("n1", None),
            ("x1", '<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3"><component>')]
    df = spark.createDataFrame(data, "id string, text string")
    rows = {r["note_id"]: r for r in plain_text(df).collect()}
    assert (rows["r1"]["markup"], rows["r1"]["status"]) == ("rtf", "ok") and rows["r1"]["text"].startswith(
        "Paciente: Lucía Ferrán Oliva.\nMujer con disnea")
    assert rows["h1"]["markup"] == "html" and "<" not in rows["h1"]["text"]
    assert (rows["p1"]["markup"], rows["p1"]["text"]) == (None, note)
    assert (rows["n1"]["status"], rows["n1"]["error"], rows["n1"]["text"]) == ("error", "missing_text", None)
    assert (rows["x1"]["status"], rows["x1"]["error"], rows["x1"]["text"]) == ("error", "malformed", None)
    ents = annotate(df.where("id = 'r1'"), tasks=["ner"], output="entities", entity_text="all").collect()
    assert ents and all(rows["r1"]["text"][e["start"]:e["end"]] == e["text"] for e in ents)
    with pytest.raises(AliaClinValueError, match="E511"):
        plain_text(df, markup="docx")


def test_fhir_output(spark: Any) -> None:
    fhir = pytest.importorskip("alia_clin.fhir")
    if not hasattr(fhir, "doc_to_bundle"):
        pytest.skip("alia_clin.fhir has no doc_to_bundle yet")
    import json

    df = spark.createDataFrame(ROWS[:4], "id string, text string")
    rows = annotate(df, tasks=["deid"], output="fhir").collect()
    assert len(rows) == 4
    for r in rows:
        assert json.loads(r["bundle"])["resourceType"] == "Bundle"


def test_bad_arguments_are_coded(spark: Any) -> None:
    df = spark.createDataFrame(ROWS[:2], "id string, text string")
    with pytest.raises(AliaClinValueError, match="E511"):
        annotate(df, output="xml")
    with pytest.raises(AliaClinValueError, match="E511"):
        annotate(df, text_col="body")
    with pytest.raises(AliaClinValueError, match="E009"):
        annotate(df, tasks=["foo"])

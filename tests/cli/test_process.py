"""``alia-clin process`` folder contract, bad inputs, tasks, formats; ``demo``; ``evaluate deid``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alia_clin.cli.main import app
from alia_clin.io.brat import read_ann, read_text

runner = CliRunner()


@pytest.fixture()
def notes(tmp_path: Path, synthetic_note: str) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text(synthetic_note, encoding="utf-8", newline="")
    # CRLF and accents must not shift offsets.
    (d / "b.txt").write_bytes("Visita el 5/6/2023.\r\nTeléfono: 600 111 222.\r\n".encode())
    (d / "c_empty.txt").write_text("  \n", encoding="utf-8")
    (d / "d_latin1.txt").write_bytes("Niño con fiebre".encode("latin-1"))
    (d / "ignored.md").write_text("not a note", encoding="utf-8")
    return d


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_folder_contract_brat(notes: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["process", str(notes), "--out", str(out), "--input-format", "txt",
                              "--output-format", "brat"])
    assert res.exit_code == 1  # two bad inputs → non-zero, but the run completed
    for stem in ("a", "b", "c_empty", "d_latin1"):
        assert (out / f"{stem}.ann").exists()
    assert not (out / "ignored.ann").exists()
    # Every T line's offsets slice exactly its text out of the note read with newline="".
    for stem in ("a", "b"):
        text = read_text(notes / f"{stem}.txt")
        ann = read_ann(out / f"{stem}.ann")
        assert ann.entities
        for ent in ann.entities:
            assert text[ent.start:ent.end] == ent.text
    b = read_text(notes / "b.txt")
    found_b = {(b[e.start:e.end], e.label) for e in read_ann(out / "b.ann").entities}
    assert ("600 111 222", "NUMERO_TELEFONO") in found_b
    docs = _lines(out / "documents.jsonl")
    assert sorted(str(d["id"]) for d in docs) == ["a", "b", "c_empty", "d_latin1"]
    errors = {str(e["id"]): e for e in _lines(out / "errors.jsonl")}
    assert set(errors) == {"c_empty", "d_latin1"}
    assert errors["c_empty"]["code"] == "empty"
    assert errors["d_latin1"]["code"] == "invalid_encoding"
    # No note text in errors
    assert "fiebre" not in (out / "errors.jsonl").read_text(encoding="utf-8")


def test_legacy_encoded_notes_with_encoding(tmp_path: Path) -> None:
    """Windows-1252 notes (legacy hospital exports) are read with --encoding: BRAT offsets count
    the decoded note's characters, and the de-identified copy is written back in that encoding."""
    d = tmp_path / "in"
    d.mkdir()
    note = "Paciente: Begoña Muñoz Ibáñez.\r\nTeléfono: 600 111 222. Niño con fiebre.\r\n"
    (d / "a.txt").write_bytes(note.encode("cp1252"))
    (d / "b_undefined.txt").write_bytes(b"Fiebre \x81 alta")  # 0x81 is not a cp1252 character
    out = tmp_path / "out"
    res = runner.invoke(app, ["process", str(d), "--out", str(out), "--encoding", "cp1252",
                              "--output-format", "brat,deid-copy", "--tasks", "deid"])
    assert res.exit_code == 1, res.output  # the undefined byte fails that note only
    ann = read_ann(out / "a.ann")
    found = {(note[e.start:e.end], e.label) for e in ann.entities}
    assert ("Begoña Muñoz Ibáñez", "NOMBRE_SUJETO_ASISTENCIA") in found
    assert ("600 111 222", "NUMERO_TELEFONO") in found
    copy = (out / "deid" / "a.txt").read_bytes().decode("cp1252")
    assert copy.startswith("Paciente: [") and "Begoña" not in copy and "600 111 222" not in copy
    assert "Teléfono: [" in copy and copy.endswith("con fiebre.\r\n")
    errors = {str(e["id"]): e for e in _lines(out / "errors.jsonl")}
    assert errors["b_undefined"]["code"] == "invalid_encoding"
    assert "cp1252" in str(errors["b_undefined"]["reason"]) and "Fiebre" not in str(errors["b_undefined"])


def test_utf8_error_hints_at_encoding_and_bad_encoding_is_a_usage_error(notes: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    runner.invoke(app, ["process", str(notes), "--out", str(out), "--output-format", "jsonl"])
    errors = {str(e["id"]): e for e in _lines(out / "errors.jsonl")}
    assert "--encoding" in str(errors["d_latin1"]["reason"])
    res = runner.invoke(app, ["process", str(notes), "--out", str(out.with_name("o2")), "--encoding", "bad"])
    assert res.exit_code == 2 and "E507" in res.output


def test_brat_input_ignores_gold_ann(tmp_path: Path, synthetic_note: str) -> None:
    d = tmp_path / "in"
    d.mkdir()
    (d / "a.txt").write_text(synthetic_note, encoding="utf-8")
    (d / "a.ann").write_text("T1\tENFERMEDAD 0 8\tPaciente\n", encoding="utf-8")
    out = tmp_path / "out"
    res = runner.invoke(app, ["process", str(d), "--out", str(out), "--input-format", "brat"])
    assert res.exit_code == 0, res.output
    assert "ENFERMEDAD" not in (out / "a.ann").read_text(encoding="utf-8")


def test_entities_from_repeats_t_lines(tmp_path: Path, synthetic_note: str) -> None:
    d, ents = tmp_path / "in", tmp_path / "ents"
    d.mkdir()
    ents.mkdir()
    (d / "a.txt").write_text(synthetic_note, encoding="utf-8")
    start = synthetic_note.index("disnea")
    (ents / "a.ann").write_text(f"T1\tSINTOMA {start} {start + 6}\tdisnea\n", encoding="utf-8")
    out = tmp_path / "out"
    res = runner.invoke(app, ["process", str(d), "--out", str(out), "--input-format", "brat",
                              "--entities-from", str(ents)])
    assert res.exit_code == 0, res.output
    ann = read_ann(out / "a.ann")
    assert (start, start + 6, "SINTOMA") in {(e.start, e.end, e.label) for e in ann.entities}
    assert any(e.label == "FECHAS" for e in ann.entities)


def test_deid_text_and_jsonl(notes: Path, tmp_path: Path, synthetic_note: str) -> None:
    out = tmp_path / "out"
    res = runner.invoke(app, ["process", str(notes), "--out", str(out), "--output-format",
                              "deid-text,jsonl", "--operator", "tag"])
    assert res.exit_code == 1
    deid = (out / "a.txt").read_text(encoding="utf-8")
    assert "[FECHAS]" in deid and "03/02/2024" not in deid
    assert "marta.ibarra@example.org" not in deid
    recs = {r["id"]: r for r in _lines(out / "annotations.jsonl")}
    assert set(recs) == {"a", "b"}
    assert all("text" not in p for p in recs["a"]["phi"])  # type: ignore[union-attr]


def test_surrogate_requires_secret(notes: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALIA_CLIN_SECRET", raising=False)
    res = runner.invoke(app, ["process", str(notes), "--out", str(tmp_path / "o"), "--output-format",
                              "deid-text", "--operator", "surrogate"])
    assert res.exit_code == 2
    assert "E013" in res.output


def test_unknown_task_and_missing_stage(notes: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["process", str(notes), "--out", str(tmp_path / "o"), "--tasks", "foo"])
    assert res.exit_code == 2 and "E009" in res.output
    # A pipeline without the heart-failure stage (the default one has it since issue 5).
    import alia_clin

    nlp = alia_clin.load()
    nlp.remove_pipe("alia_hf_risk")
    nlp.to_disk(tmp_path / "no_hf")
    res = runner.invoke(
        app,
        ["process", str(notes), "--out", str(tmp_path / "o"), "--tasks", "hf_risk",
         "--model", str(tmp_path / "no_hf")],
    )
    assert res.exit_code == 2 and "E015" in res.output


def test_missing_input_folder(tmp_path: Path) -> None:
    res = runner.invoke(app, ["process", str(tmp_path / "nope"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "E006" in res.output


def test_demo_runs_on_bundled_notes(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    res = runner.invoke(app, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    anns = sorted(out.glob("*.ann"))
    assert len(anns) >= 8
    langs = {p.stem.split("_")[0] for p in anns}
    assert {"es", "ca", "eu", "gl"} <= langs
    assert all(read_ann(p).entities for p in anns)


def test_evaluate_deid_cli(tmp_path: Path) -> None:
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    gold.mkdir()
    pred.mkdir()
    (gold / "x.ann").write_text("T1\tFECHAS 0 10\t03/02/2024\nT2\tEDAD_SUJETO_ASISTENCIA 20 27\t71 años\n")
    (pred / "x.ann").write_text("T1\tFECHAS 0 10\t03/02/2024\n")
    report_path = tmp_path / "r.json"
    res = runner.invoke(app, ["evaluate", "deid", "--gold", str(gold), "--pred", str(pred),
                              "--json", str(report_path)])
    assert res.exit_code == 0, res.output
    report = json.loads(report_path.read_text())
    assert report["strict"]["precision"] == pytest.approx(1.0)
    assert report["strict"]["recall"] == pytest.approx(0.5)


def test_entities_from_adds_assertion_attributes(tmp_path: Path) -> None:
    d, ents = tmp_path / "in", tmp_path / "ents"
    d.mkdir()
    ents.mkdir()
    text = "Niega dolor torácico. Presenta disnea de esfuerzo.\nAntecedentes familiares: diabetes.\n"
    (d / "n1.txt").write_text(text, encoding="utf-8")
    spans = [("SINTOMA", "dolor torácico"), ("SINTOMA", "disnea de esfuerzo"), ("ENFERMEDAD", "diabetes")]
    lines = []
    for i, (label, words) in enumerate(spans, start=1):
        start = text.index(words)
        lines.append(f"T{i}\t{label} {start} {start + len(words)}\t{words}\n")
    (ents / "n1.ann").write_text("".join(lines), encoding="utf-8")
    out = tmp_path / "out"
    res = runner.invoke(app, ["process", str(d), "--out", str(out), "--input-format", "brat",
                              "--entities-from", str(ents), "--tasks", "deid,context"])
    assert res.exit_code == 0, res.output
    ann = read_ann(out / "n1.ann")
    by_id = {e.id: text[e.start:e.end] for e in ann.entities}
    attrs = {(a.name, by_id[a.target]) for a in ann.attributes}
    assert ("Negated", "dolor torácico") in attrs
    assert ("Family", "diabetes") in attrs
    assert not any(target == "disnea de esfuerzo" for _, target in attrs)

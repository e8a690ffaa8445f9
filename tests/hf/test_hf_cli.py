"""The folder contract with ``--tasks hf_risk`` on the default pipeline (synthetic notes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alia_clin.cli.main import app
from alia_clin.runner import pipes_to_disable

REPO = Path(__file__).resolve().parents[2]
NOTES = {
    "a": "Varón de 79 años con HTA. Refiere ortopnea y edemas maleolares. NT-proBNP 2.100 pg/ml.\n",
    "b": "Mujer de 34 años. Consulta por faringitis. Sin disnea ni edemas.\n",
    "c": "Paciente con insuficiencia cardiaca conocida en tratamiento con furosemida.\r\n",
}


def test_process_writes_hf_risk_for_every_document(tmp_path: Path) -> None:
    if not (REPO / "models" / "alia-clin-rules" / "alia_hf_risk").is_dir():
        pytest.skip("shipped heart-failure model not found")
    src = tmp_path / "in"
    src.mkdir()
    for stem, text in NOTES.items():
        (src / f"{stem}.txt").write_bytes(text.encode("utf-8"))
    out = tmp_path / "out"
    res = CliRunner().invoke(
        app,
        [
            "process",
            str(src),
            "--out",
            str(out),
            "--input-format",
            "txt",
            "--output-format",
            "brat",
            "--tasks",
            "hf_risk",
        ],
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in (out / "documents.jsonl").read_text(encoding="utf-8").splitlines()]
    assert sorted(r["id"] for r in rows) == sorted(NOTES)
    for r in rows:
        assert r["status"] == "ok" and 0.0 <= r["hf_risk"] <= 1.0
    risk = {r["id"]: r["hf_risk"] for r in rows}
    assert risk["a"] > risk["b"] and risk["c"] > risk["b"]
    for stem in NOTES:
        assert (out / f"{stem}.ann").exists()


def test_hf_risk_keeps_the_stages_it_needs() -> None:
    import alia_clin

    nlp = alia_clin.load()
    disabled = pipes_to_disable(nlp, ["hf_risk"], entities_given=False)
    assert "alia_deid" in disabled
    for needed in ("alia_sections", "alia_measurements", "alia_context", "alia_hf_risk"):
        assert needed not in disabled

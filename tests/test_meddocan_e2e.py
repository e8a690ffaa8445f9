"""End to end on MEDDOCAN dev: `alia-clin process` → `alia-clin evaluate deid` (slow).

Guards the rules layer's measured dev scores against regressions (the numbers are reported in
the model card); it runs the real CLI over the 250 dev notes with the network blocked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alia_clin.cli.main import app

#: Labels the rules layer must keep at strict F1 ≥ 0.95 on MEDDOCAN dev.
REQUIRED = (
    "FECHAS",
    "CORREO_ELECTRONICO",
    "NUMERO_TELEFONO",
    "ID_SUJETO_ASISTENCIA",
    "ID_TITULACION_PERSONAL_SANITARIO",
    "EDAD_SUJETO_ASISTENCIA",
)


@pytest.mark.slow
def test_meddocan_dev_rules_layer(corpora: Path, tmp_path: Path) -> None:
    dev = corpora / "meddocan" / "dev"
    out = tmp_path / "pred"
    runner = CliRunner()
    res = runner.invoke(app, ["process", str(dev), "--out", str(out), "--input-format", "brat",
                              "--output-format", "brat", "--tasks", "deid"])
    assert res.exit_code == 0, res.output
    assert len(list(out.glob("*.ann"))) == len(list(dev.glob("*.txt")))
    report_path = tmp_path / "report.json"
    res = runner.invoke(app, ["evaluate", "deid", "--gold", str(dev), "--pred", str(out),
                              "--json", str(report_path)])
    assert res.exit_code == 0, res.output
    report = json.loads(report_path.read_text())
    per_label = report["per_label"]
    for label in REQUIRED:
        assert per_label[label]["f1"] >= 0.95, label
    assert per_label["CALLE"]["f1"] >= 0.90  # below the 0.95 target: see the issue note
    assert report["strict"]["precision"] >= 0.95

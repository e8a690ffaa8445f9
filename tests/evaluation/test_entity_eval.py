"""Tests for alia_clin.evaluation.entities and ``alia-clin evaluate entities``: hand-made cases,
numbers worked out in comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alia_clin.cli.main import app
from alia_clin.errors import AliaClinValueError
from alia_clin.evaluation.entities import (
    default_label_map,
    evaluate_entities,
    evaluate_entity_dirs,
    format_entity_report,
)

# Synthetic note (invented): "Disnea de esfuerzo e insuficiencia cardiaca; se pauta furosemida."
#   Disnea de esfuerzo        -> [0, 18)  SINTOMA
#   insuficiencia cardiaca    -> [21, 43) ENFERMEDAD
#   furosemida                -> [54, 64) FARMACO
TEXT = "Disnea de esfuerzo e insuficiencia cardiaca; se pauta furosemida."
GOLD = {"n1": [(0, 18, "SYMPTOM"), (21, 43, "DISEASE"), (54, 64, "MEDICATION")]}


def test_default_map_covers_the_corpora_labels() -> None:
    mapping = default_label_map()
    assert mapping["DISEASE"] == "ENFERMEDAD" and mapping["SYMPTOM"] == "SINTOMA"
    assert mapping["PROCEDURE"] == "PROCEDIMIENTO" and mapping["NO_NORMALIZABLES"] == "FARMACO"
    assert "ENFERMEDAD" not in mapping  # identities are left out


def test_strict_and_lenient_counts() -> None:
    pred = {
        "n1": [
            (0, 6, "SINTOMA"),  # "Disnea": overlaps the gold symptom, other offsets
            (21, 43, "ENFERMEDAD"),  # exact
            (54, 64, "SINTOMA"),  # right offsets, wrong label
            (10, 18, "NOMBRE_SUJETO_ASISTENCIA"),  # a PHI label: not scored
        ]
    }
    report = evaluate_entities(GOLD, pred)
    # strict: tp 1 (the disease), fp 2 (partial symptom, mislabelled drug), fn 2
    assert (report.strict.tp, report.strict.fp, report.strict.fn) == (1, 2, 2)
    # lenient: predictions matched 2 of 3 (symptom overlap, disease), gold found 2 of 3
    assert (report.lenient.pred_matched, report.lenient.pred) == (2, 3)
    assert (report.lenient.gold_matched, report.lenient.gold) == (2, 3)
    assert report.lenient.f1 == pytest.approx(2 / 3)
    assert report.ignored_pred == 1 and report.ignored_gold == 0
    assert report.per_label["FARMACO"].fn == 1 and report.per_label["SINTOMA"].fp == 2
    assert report.per_label_lenient["SINTOMA"].precision == pytest.approx(0.5)
    assert report.per_label["PROCEDIMIENTO"].support == 0
    text = format_entity_report(report)
    assert "micro" in text and TEXT[:6] not in text  # counts only, never note text


def test_one_prediction_may_find_several_gold_spans_and_missing_docs_count() -> None:
    gold = {"n1": [(0, 6, "SINTOMA"), (10, 18, "SINTOMA")], "n2": [(0, 4, "FARMACO")]}
    pred = {"n1": [(0, 18, "SINTOMA")], "n9": [(0, 4, "FARMACO")]}
    report = evaluate_entities(gold, pred, labels=["SINTOMA", "FARMACO"], label_map={})
    # lenient recall: both n1 symptoms overlapped, the n2 drug missed -> 2/3; precision 1/1
    assert report.lenient.recall == pytest.approx(2 / 3) and report.lenient.precision == 1.0
    assert report.strict.tp == 0 and report.strict.fn == 3
    assert (report.n_docs, report.missing_pred_docs, report.extra_pred_docs) == (2, 1, 1)
    with pytest.raises(AliaClinValueError) as err:
        evaluate_entities(gold, pred, labels=[])
    assert err.value.code == "E107"


def _write(folder: Path, name: str, text: str, spans: list[tuple[int, int, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    lines = [f"T{i + 1}\t{lab} {s} {e}\t{text[s:e]}" for i, (s, e, lab) in enumerate(spans)]
    (folder / f"{name}.ann").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_folders_and_cli(tmp_path: Path) -> None:
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    _write(gold, "n1", TEXT, GOLD["n1"])
    _write(pred, "n1", TEXT, [(0, 18, "SINTOMA"), (21, 43, "ENFERMEDAD"), (54, 64, "FARMACO")])
    report = evaluate_entity_dirs(gold, pred)
    assert report.strict.f1 == 1.0 and report.lenient.f1 == 1.0
    out = tmp_path / "report.json"
    res = CliRunner().invoke(
        app, ["evaluate", "entities", "--gold", str(gold), "--pred", str(pred), "--json", str(out)]
    )
    assert res.exit_code == 0, res.output
    saved = json.loads(out.read_text())
    assert saved["strict"]["f1"] == 1.0 and saved["per_label"]["FARMACO"]["strict"]["tp"] == 1
    # a custom rename: gold MEDICATION -> DRUG, scored as DRUG only
    res = CliRunner().invoke(
        app,
        ["evaluate", "entities", "--gold", str(gold), "--pred", str(pred), "--labels", "DRUG",
         "--map", "MEDICATION=DRUG,FARMACO=DRUG"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "DRUG" in res.stdout and "ENFERMEDAD" not in res.stdout
    bad = CliRunner().invoke(
        app, ["evaluate", "entities", "--gold", str(gold), "--pred", str(pred), "--map", "DISEASE"]
    )
    assert bad.exit_code == 2 and "E107" in bad.output
    other = tmp_path / "other"
    _write(other, "zz", TEXT, [])
    with pytest.raises(AliaClinValueError) as err:
        evaluate_entity_dirs(gold, other)
    assert err.value.code == "E016"

"""Tests for alia_clin.evaluation.deid: hand-made cases, numbers worked out in comments."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alia_clin.errors import AliaClinValueError
from alia_clin.evaluation.deid import (
    PRF,
    DeidReport,
    evaluate,
    evaluate_dirs,
    format_report,
    read_spans_dir,
)

# Synthetic note (invented): "Ana Gil, 12/03/2020, Lugo, NHC 1234567."
#   Ana Gil    -> [0, 7)   NOMBRE_SUJETO_ASISTENCIA
#   12/03/2020 -> [9, 19)  FECHAS
#   Lugo       -> [21, 25) TERRITORIO
#   1234567    -> [31, 38) ID_SUJETO_ASISTENCIA
NAME = (0, 7, "NOMBRE_SUJETO_ASISTENCIA")
DATE = (9, 19, "FECHAS")
CITY = (21, 25, "TERRITORIO")
NHC = (31, 38, "ID_SUJETO_ASISTENCIA")
GOLD = {"d1": [NAME, DATE, CITY, NHC]}


def _prf(prf: PRF) -> tuple[int, int, int]:
    return prf.tp, prf.fp, prf.fn


def test_exact_match_is_perfect() -> None:
    report = evaluate(GOLD, {"d1": [NAME, DATE, CITY, NHC]})
    # 4 gold, 4 pred, all identical: tp=4 fp=0 fn=0 in both views; P=R=F1=1.
    assert _prf(report.strict) == (4, 0, 0)
    assert _prf(report.merged) == (4, 0, 0)
    assert report.strict.f1 == 1.0
    # gold chars = 7 + 10 + 4 + 7 = 28, all covered.
    assert (report.gold_chars, report.covered_chars) == (28, 28)
    assert report.char_recall == 1.0
    assert report.leak_rate == 0.0
    assert report.n_docs == 1


def test_label_mismatch_counts_in_merged_not_strict() -> None:
    # "Lugo" predicted as PAIS instead of TERRITORIO; the rest exact.
    report = evaluate(GOLD, {"d1": [NAME, DATE, (21, 25, "PAIS"), NHC]})
    # strict: tp=3 (name, date, nhc), fp=1 (PAIS), fn=1 (TERRITORIO)
    #   P = 3/4, R = 3/4, F1 = 6/8 = 0.75
    assert _prf(report.strict) == (3, 1, 1)
    assert report.strict.precision == pytest.approx(0.75)
    assert report.strict.f1 == pytest.approx(0.75)
    # merged (offsets only): all 4 offsets match -> tp=4 fp=0 fn=0
    assert _prf(report.merged) == (4, 0, 0)
    # per label: TERRITORIO fn=1, PAIS fp=1 (support 0), FECHAS perfect
    assert _prf(report.per_label["TERRITORIO"]) == (0, 0, 1)
    assert _prf(report.per_label["PAIS"]) == (0, 1, 0)
    assert report.per_label["PAIS"].support == 0
    assert _prf(report.per_label["FECHAS"]) == (1, 0, 0)
    # the label does not matter for characters: 28/28
    assert report.char_recall == 1.0


def test_partial_overlap_counts_for_neither_but_covers_characters() -> None:
    # "12/03/2020" [9, 19) predicted as [12, 19) "03/2020" (7 of its 10 characters).
    report = evaluate(GOLD, {"d1": [NAME, (12, 19, "FECHAS"), CITY, NHC]})
    # strict: tp=3, fp=1, fn=1 ; merged: also tp=3, fp=1, fn=1 (offsets differ)
    assert _prf(report.strict) == (3, 1, 1)
    assert _prf(report.merged) == (3, 1, 1)
    assert _prf(report.per_label["FECHAS"]) == (0, 1, 1)
    # chars: covered = 7 + 7 + 4 + 7 = 25 of 28 -> recall 25/28, leak 3/28
    assert report.covered_chars == 25
    assert report.char_recall == pytest.approx(25 / 28)
    assert report.leak_rate == pytest.approx(3 / 28)


def test_prediction_spanning_several_gold_spans_and_any_label_covers() -> None:
    # one wide prediction [0, 25) with an unrelated label covers name, date and city
    # (7 + 10 + 4 = 21 chars) but not the NHC (7 chars) -> 21/28 = 0.75
    report = evaluate(GOLD, {"d1": [(0, 25, "OTROS_SUJETO_ASISTENCIA")]})
    assert _prf(report.strict) == (0, 1, 4)
    assert _prf(report.merged) == (0, 1, 4)
    assert report.char_recall == pytest.approx(0.75)


def test_missing_document_counts_as_all_missed() -> None:
    gold = {**GOLD, "d2": [(0, 4, "NOMBRE_PERSONAL_SANITARIO")]}
    report = evaluate(gold, {"d1": [NAME, DATE, CITY, NHC]})
    # d1 perfect (4 tp); d2 has no prediction entry: fn=1
    # strict: tp=4 fp=0 fn=1 -> P=1, R=4/5, F1 = 8/9
    assert _prf(report.strict) == (4, 0, 1)
    assert report.strict.recall == pytest.approx(0.8)
    assert report.strict.f1 == pytest.approx(8 / 9)
    assert report.n_docs == 2
    assert report.missing_pred_docs == 1
    # chars: 28 + 4 = 32 gold, 28 covered
    assert report.char_recall == pytest.approx(28 / 32)


def test_empty_predictions() -> None:
    report = evaluate(GOLD, {"d1": []})
    # no predictions: tp=0 fp=0 fn=4; precision has a zero denominator -> 0.0 by convention
    assert _prf(report.strict) == (0, 0, 4)
    assert (report.strict.precision, report.strict.recall, report.strict.f1) == (0.0, 0.0, 0.0)
    assert report.char_recall == 0.0
    assert report.leak_rate == 1.0
    assert report.missing_pred_docs == 0  # the document is present, just empty


def test_duplicate_spans_count_once() -> None:
    gold = {"d1": [NAME, NAME, DATE]}
    pred = {"d1": [NAME, NAME, NAME]}
    # distinct gold {NAME, DATE}, distinct pred {NAME}: tp=1 fp=0 fn=1
    report = evaluate(gold, pred)
    assert _prf(report.strict) == (1, 0, 1)
    assert report.per_label["NOMBRE_SUJETO_ASISTENCIA"].support == 1
    # chars: 7 + 10 = 17 gold, 7 covered (the duplicate name is not counted twice)
    assert (report.gold_chars, report.covered_chars) == (17, 7)


def test_overlapping_gold_spans_counted_once_in_characters() -> None:
    # gold [0, 10) and [5, 15) overlap: union is 15 characters; pred [0, 6) covers 6
    report = evaluate({"d": [(0, 10, "CALLE"), (5, 15, "TERRITORIO")]}, {"d": [(0, 6, "CALLE")]})
    assert report.gold_chars == 15
    assert report.covered_chars == 6


def test_no_gold_phi_and_extra_pred_docs() -> None:
    # a doc without PHI and one spurious prediction: fp=1; char recall 1.0 (nothing to leak)
    report = evaluate({"d": []}, {"d": [(0, 3, "FECHAS")], "other": [(0, 1, "PAIS")]})
    assert _prf(report.strict) == (0, 1, 0)
    assert report.char_recall == 1.0
    assert report.extra_pred_docs == 1  # "other" is not in gold: ignored, but counted
    assert report.n_docs == 1


def test_to_dict_is_json_able() -> None:
    report = evaluate(GOLD, {"d1": [NAME, (21, 25, "PAIS")]})
    data = json.loads(json.dumps(report.to_dict()))
    # strict: tp=1 fp=1 fn=3 -> P=1/2, R=1/4, F1=2/6
    assert data["strict"]["tp"] == 1
    assert data["strict"]["precision"] == pytest.approx(0.5)
    assert data["strict"]["f1"] == pytest.approx(1 / 3)
    # merged: tp=2 fp=0 fn=2
    assert data["merged"]["recall"] == pytest.approx(0.5)
    assert data["per_label"]["PAIS"]["fp"] == 1
    assert data["char_recall"] == pytest.approx(11 / 28)
    assert data["n_docs"] == 1


def test_format_report_is_a_fixed_width_table() -> None:
    text = format_report(evaluate(GOLD, {"d1": [NAME, DATE]}))
    lines = text.splitlines()
    assert "1 documents" in lines[0]
    assert any(line.startswith("strict (label+offsets)") for line in lines)
    assert any(line.startswith("merged (offsets only)") for line in lines)
    assert any("ID_SUJETO_ASISTENCIA" in line for line in lines)
    rows = [line for line in lines if line.startswith(("strict", "merged", "  "))]
    assert len({len(row) for row in rows}) == 1  # all metric rows have the same width
    assert "leak rate" in lines[-1]


def test_format_report_of_empty_report() -> None:
    assert "0 documents" in format_report(DeidReport())


def _write(folder: Path, name: str, lines: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.ann").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_evaluate_dirs(tmp_path: Path) -> None:
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    _write(gold, "a", ["T1\tNOMBRE_SUJETO_ASISTENCIA 0 7\tAna Gil", "T2\tFECHAS 9 19\t12/03/2020"])
    _write(gold, "b", ["T1\tTERRITORIO 0 4\tLugo"])  # no prediction file: all missed
    _write(pred, "a", ["T1\tNOMBRE_SUJETO_ASISTENCIA 0 7\tAna Gil", "T2\tTERRITORIO 9 19\t12/03/2020"])
    report = evaluate_dirs(gold, pred)
    # strict: tp=1 (name), fp=1 (TERRITORIO 9-19), fn=2 (FECHAS, Lugo)
    # merged: tp=2, fp=0, fn=1 ; chars: 7 + 10 + 4 = 21 gold, 17 covered
    assert _prf(report.strict) == (1, 1, 2)
    assert _prf(report.merged) == (2, 0, 1)
    assert report.char_recall == pytest.approx(17 / 21)
    assert report.n_docs == 2
    assert report.missing_pred_docs == 1


def test_evaluate_dirs_disjoint_raises_e016(tmp_path: Path) -> None:
    _write(tmp_path / "gold", "a", ["T1\tFECHAS 0 4\t2020"])
    _write(tmp_path / "pred", "z", ["T1\tFECHAS 0 4\t2020"])
    with pytest.raises(AliaClinValueError) as info:
        evaluate_dirs(tmp_path / "gold", tmp_path / "pred")
    assert info.value.code == "E016"


def test_evaluate_dirs_empty_pred_folder_is_all_missed(tmp_path: Path) -> None:
    _write(tmp_path / "gold", "a", ["T1\tFECHAS 0 4\t2020"])
    (tmp_path / "pred").mkdir()
    report = evaluate_dirs(tmp_path / "gold", tmp_path / "pred")
    assert _prf(report.strict) == (0, 0, 1)


def test_missing_folder_raises_e006(tmp_path: Path) -> None:
    with pytest.raises(AliaClinValueError) as info:
        read_spans_dir(tmp_path / "nope")
    assert info.value.code == "E006"

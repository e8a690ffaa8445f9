"""``--workers`` gives the same outputs as one process; the CLI's options, summary and JSON logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alia_clin import load
from alia_clin.batch.run import run_batch
from alia_clin.batch.synthetic import write_csv, write_jsonl
from alia_clin.batch.workers import set_torch_threads, threads_per_worker
from alia_clin.cli.main import app

runner = CliRunner()


@pytest.mark.slow
def test_two_spawned_workers_match_one_process(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "n.jsonl", 60, seed=9)
    nlp = load()
    one = run_batch(nlp, src, tmp_path / "one", tasks=["deid"], output_formats=["jsonl", "entities-csv"],
                    chunk_size=7)
    two = run_batch(nlp, src, tmp_path / "two", tasks=["deid"], output_formats=["jsonl", "entities-csv"],
                    chunk_size=7, workers=2)
    assert one.processed == two.processed == 60
    for name in ("documents.jsonl", "annotations.jsonl", "entities.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


def test_thread_budget() -> None:
    assert threads_per_worker(1) >= 1 and threads_per_worker(64) == 1
    assert set_torch_threads(1) in (True, False)


def test_cli_csv_columns_summary_and_json_logs(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "export.csv", 5, delimiter=";", bom=True)
    with src.open("ab") as fh:
        fh.write(b"bad-1;pat;2024-01-01;\r\n")
    out = tmp_path / "out"
    args = ["process", str(src), "--out", str(out), "--patient-col", "patient", "--date-col", "date",
            "--tasks", "deid", "--output-format", "jsonl,entities-csv", "--chunk-size", "2", "--log-json"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1, res.output  # one bad record
    logs = [json.loads(x) for x in res.stderr.splitlines() if x.startswith("{")]
    chunks = [r for r in logs if r["message"].startswith("chunk ")]
    assert [r["chunk"] for r in chunks] == [0, 1, 2]
    finished = next(r for r in logs if r["message"] == "run finished")
    assert (finished["processed"], finished["failed"]) == (5, 1)
    assert "processed 5, skipped 0" in " ".join(res.stderr.split())
    assert "\u2501" not in res.stderr  # no progress bar when stderr is not a terminal
    # Rerunning the finished command is a no-op with the same outcome.
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "skipped 6" in " ".join(again.stderr.split())
    res = runner.invoke(app, [*args, "--operator", "mask"])
    assert res.exit_code == 2 and "E505" in res.output
    res = runner.invoke(app, [*args, "--operator", "mask", "--force"])
    assert res.exit_code == 1


def test_cli_quoting_option_is_validated(tmp_path: Path) -> None:
    src = write_csv(tmp_path / "export.csv", 1)
    res = runner.invoke(app, ["process", str(src), "--out", str(tmp_path / "o"), "--quoting", "weird"])
    assert res.exit_code == 2 and "E507" in res.output

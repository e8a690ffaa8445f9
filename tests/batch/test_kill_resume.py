"""Kill a real ``alia-clin process`` with SIGKILL at seeded random points, rerun, check exactly once."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alia_clin import load
from alia_clin.batch.layout import RunLayout
from alia_clin.batch.run import run_batch
from alia_clin.batch.synthetic import synthetic_rows

CLI = Path(sys.executable).parent / "alia-clin"
N_NOTES = 300
CHUNK = 20
BAD_LINES = {57: b'{"id": "broken", "text": ', 143: b'{"id": "empty-1", "text": "  "}', 250: b"\xff\xfe\n"}


def _write_export(path: Path) -> list[str]:
    """300 synthetic notes plus 3 bad lines; returns the expected ids in input order."""
    ids: list[str] = []
    with path.open("wb") as fh:
        for i, row in enumerate(synthetic_rows(N_NOTES, seed=11)):
            if i in BAD_LINES:
                fh.write(BAD_LINES[i].rstrip(b"\n") + b"\n")
                ids.append("empty-1" if i == 143 else f"line-{len(ids) + 1}")
            fh.write((json.dumps(row, ensure_ascii=False) + "\n").encode())
            ids.append(row["id"])
    return ids


def _finished_chunks(out: Path) -> int:
    try:
        return len(json.loads(RunLayout(out).manifest.read_text(encoding="utf-8"))["chunks"])
    except (OSError, ValueError, KeyError):
        return 0


def _cmd(src: Path, out: Path) -> list[str]:
    return [str(CLI), "process", str(src), "--out", str(out), "--tasks", "deid",
            "--output-format", "brat,jsonl,entities-csv", "--chunk-size", str(CHUNK), "--quiet"]


def _ids(path: Path) -> list[str]:
    return [json.loads(x)["id"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


@pytest.mark.slow
def test_kill_9_at_random_points_then_resume_exactly_once(tmp_path: Path) -> None:
    src = tmp_path / "export.jsonl"
    expected = _write_export(src)
    out = tmp_path / "out"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    rng = random.Random(20261126)
    n_chunks = -(-len(expected) // CHUNK)
    # Kill points in the first half, so that a fast machine cannot finish the run before the kill.
    targets = sorted(rng.sample(range(1, n_chunks // 2), 3))
    kills = 0
    for target in targets:
        proc = subprocess.Popen(_cmd(src, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 240
        while _finished_chunks(out) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.03))  # land anywhere inside the next chunk's writes
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    assert kills == 3, "every run must still be going when it is killed"
    final = subprocess.run(_cmd(src, out), env=env, capture_output=True, text=True, timeout=600)
    assert final.returncode == 1, final.stderr[-2000:]  # three bad records → exit code 1
    summary = " ".join(final.stderr.split())
    m = re.search(r"processed (\d+), skipped (\d+)", summary)
    assert m is not None and int(m.group(2)) > 0 and "run total 3" in summary

    # Every note exactly once, in input order, across every aggregate output.
    assert _ids(out / "documents.jsonl") == expected
    bad = [i for i in expected if not i.startswith("note-")]
    assert len(bad) == 3 and _ids(out / "errors.jsonl") == bad
    good = [i for i in expected if i not in bad]
    assert _ids(out / "annotations.jsonl") == good
    assert sorted(p.stem for p in out.glob("*.ann")) == sorted(expected)
    assert not RunLayout(out).parts.exists()
    assert not list(out.glob(".*.tmp"))

    # The same bytes as one uninterrupted in-process run.
    clean = tmp_path / "clean"
    run_batch(load(), src, clean, tasks=["deid"], output_formats=["brat", "jsonl", "entities-csv"],
              chunk_size=CHUNK)
    for name in ("documents.jsonl", "errors.jsonl", "annotations.jsonl", "entities.csv"):
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name

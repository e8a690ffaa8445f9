"""Progress bar only on a terminal; JSON log lines carry the extra fields."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from alia_clin.batch.progress import JsonLogFormatter, ProgressBar


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_draws_on_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _Tty()
    monkeypatch.setattr(sys, "stderr", fake)
    with ProgressBar(total=10, enabled=True) as bar:
        assert bar.enabled
        bar.advance(4, rate=2.0)
    assert "4/10" in fake.getvalue() and "2.0 notes/s" in fake.getvalue()
    with ProgressBar(total=10, enabled=False) as bar:  # --quiet
        assert not bar.enabled
    monkeypatch.setattr(sys, "stderr", io.StringIO())  # not a terminal
    with ProgressBar(total=None, enabled=True) as bar:
        assert not bar.enabled
        bar.advance(3, rate=1.0)


def test_json_formatter_keeps_extras() -> None:
    record = logging.makeLogRecord(
        {"msg": "chunk %d done", "args": (3,), "levelname": "INFO", "name": "alia_clin"}
    )
    record.chunk = 3
    record.docs_per_s = 12.5
    data = json.loads(JsonLogFormatter().format(record))
    assert data["message"] == "chunk 3 done" and data["chunk"] == 3 and data["docs_per_s"] == 12.5
    assert data["level"] == "INFO" and "msg" not in data and "args" not in data

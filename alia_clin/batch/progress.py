"""Progress of a batch run: a rich progress bar on stderr, and structured JSON logs.

The bar (notes done, notes/s, ETA when the total is known) shows only when stderr is a
terminal and the run is not quiet. :class:`JsonLogFormatter` renders log records as one JSON
object per line (``--log-json``), with the ``extra`` fields a record carries (counts, ids).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from types import TracebackType
from typing import Any

#: Log-record attributes that are not ``extra`` fields.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: ``ts``, ``level``, ``logger``, ``message`` and extras."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value
        return json.dumps(data, default=str)


def setup_logging(*, verbose: bool, log_json: bool) -> None:
    """Configure the ``alia_clin`` logger for the CLI (stderr; JSON lines with ``log_json``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonLogFormatter()
        if log_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logger = logging.getLogger("alia_clin")
    for old in [h for h in logger.handlers if getattr(h, "_alia_cli", False)]:
        logger.removeHandler(old)
    handler._alia_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if (verbose or log_json) else logging.WARNING)
    logger.propagate = False


class ProgressBar:
    """A context manager around ``rich.progress`` that does nothing when disabled."""

    def __init__(self, *, total: int | None, enabled: bool, completed: int = 0) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total = total
        self.completed = completed
        self._progress: Any = None
        self._task: Any = None
        self.started = time.perf_counter()

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("notes"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]:.1f} notes/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(
                "process", total=self.total, completed=self.completed, rate=0.0
            )
        return self

    def advance(self, n: int, *, rate: float) -> None:
        """Count ``n`` more notes done, at ``rate`` notes/s."""
        if self._progress is not None:
            self._progress.update(self._task, advance=n, rate=rate)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.__exit__(exc_type, exc, tb)

"""What the terminology-backed pipes (``alia_terms``, ``alia_codes``) share: loading the curated
table in ``initialize()`` and carrying it through ``to_disk``/``to_bytes``, so a saved pipeline
keeps the table it was built with."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import srsly

from .base import ErrorHandlingPipe

TABLE_FILE = "concepts.tsv"


class TerminologyTablePipe(ErrorHandlingPipe):
    """Base class: ``cfg`` (JSON-able) plus the table text; subclasses index it in ``_index``."""

    cfg: dict[str, Any]
    _table_text: str | None = None

    def _index(self, text: str) -> None:
        """Build the subclass's lookup structures from the table text."""
        raise NotImplementedError

    def _set_table(self, text: str) -> None:
        self._table_text = text
        self._index(text)

    def initialize(self, get_examples: Callable[[], Iterable[Any]] | None = None, *, nlp: Any = None) -> None:
        """Load the packaged terminology table."""
        path = resources.files("alia_clin") / "resources" / "terminology" / TABLE_FILE
        self._set_table(path.read_text(encoding="utf-8"))

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.msgpack_dumps({"cfg": self.cfg, "table": self._table_text})

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> TerminologyTablePipe:
        msg = srsly.msgpack_loads(data)
        self.cfg.update(msg["cfg"])
        if msg.get("table"):
            self._set_table(msg["table"])
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        p = Path(path)
        p.mkdir(parents=True, exist_ok=True)
        srsly.write_json(p / "cfg.json", self.cfg)
        if self._table_text is not None:
            (p / TABLE_FILE).write_text(self._table_text, encoding="utf-8")

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> TerminologyTablePipe:
        p = Path(path)
        self.cfg.update(srsly.read_json(p / "cfg.json"))
        if (p / TABLE_FILE).exists():
            self._set_table((p / TABLE_FILE).read_text(encoding="utf-8"))
        return self

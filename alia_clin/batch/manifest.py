"""The run manifest (``OUT/alia-run.json``): what a run reads, how, and which chunks are done.

Written atomically (temporary file + fsync + rename) after every finished chunk, so after a
``kill -9`` it names exactly the chunks whose outputs are complete on disk. A rerun with the
same input fingerprint and options resumes; anything else needs ``--force`` (E505).
The input fingerprint is content-based: file size plus SHA-256 of the first and last MiB
(a folder: names and sizes of its notes), so touching a file does not invalidate a run but
replacing it does. The manifest holds no note text and never the surrogate secret.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import AliaClinValueError, ErrorCode
from ..io.atomic import atomic_write_text

VERSION = 1
_EDGE = 1 << 20


def input_fingerprint(path: str | Path) -> dict[str, Any]:
    """A content-based fingerprint of an input file or folder (see the module docstring)."""
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        n = 0
        for f in sorted(p.iterdir()):
            if f.is_file():
                h.update(f"{f.name}\0{f.stat().st_size}\n".encode("utf-8", "surrogateescape"))
                n += 1
        return {"kind": "folder", "files": n, "sha256": h.hexdigest()}
    size = p.stat().st_size
    with p.open("rb") as fh:
        h.update(fh.read(_EDGE))
        if size > 2 * _EDGE:
            fh.seek(size - _EDGE)
            h.update(fh.read(_EDGE))
        elif size > _EDGE:
            h.update(fh.read())
    return {"kind": "file", "size": size, "sha256": h.hexdigest()}


@dataclass
class Manifest:
    """One run's state. ``chunks`` maps a finished chunk's index (as a string, JSON keys) to
    its counts: ``records``, ``processed``, ``failed``."""

    input: dict[str, Any]
    options: dict[str, Any]
    chunk_size: int
    chunks: dict[str, dict[str, int]] = field(default_factory=dict)
    complete: bool = False
    version: int = VERSION
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)

    @property
    def finished(self) -> frozenset[int]:
        """Indices of the finished chunks."""
        return frozenset(int(k) for k in self.chunks)

    def totals(self) -> dict[str, int]:
        """Records, processed and failed over every finished chunk."""
        out = {"records": 0, "processed": 0, "failed": 0}
        for counts in self.chunks.values():
            for key in out:
                out[key] += int(counts.get(key, 0))
        return out

    def mark(self, index: int, *, records: int, processed: int, failed: int) -> None:
        """Record chunk ``index`` as finished."""
        self.chunks[str(index)] = {"records": records, "processed": processed, "failed": failed}
        self.updated = time.time()

    def save(self, path: str | Path) -> None:
        """Write atomically and durably."""
        atomic_write_text(path, json.dumps(asdict(self), indent=1, sort_keys=True), durable=True)

    def check_same_run(self, other: Manifest, path: str | Path) -> None:
        """Raise E505 unless ``other`` (this command's run) matches this stored run."""
        if self.input != other.input:
            raise AliaClinValueError(ErrorCode.E505, path=str(Path(path).parent), what="input")
        if self.options != other.options:
            changed = sorted(
                k
                for k in set(self.options) | set(other.options)
                if self.options.get(k) != other.options.get(k)
            )
            raise AliaClinValueError(
                ErrorCode.E505, path=str(Path(path).parent), what=f"options ({', '.join(changed)})"
            )
        if self.chunk_size != other.chunk_size:
            raise AliaClinValueError(ErrorCode.E505, path=str(Path(path).parent), what="chunk size")


def load_manifest(path: str | Path) -> Manifest | None:
    """The stored manifest, None when there is none; E506 when it cannot be read."""
    p = Path(path)
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise ValueError(f"version {data.get('version')}")
        return Manifest(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise AliaClinValueError(ErrorCode.E506, path=str(p), reason=exc.__class__.__name__) from None

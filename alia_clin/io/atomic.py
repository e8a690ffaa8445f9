"""Atomic file writes: write a temporary file in the target folder, then ``os.replace`` it.

A reader (or a resumed run) sees either the old file or the complete new one, never a
partial write, even when the process is killed with SIGKILL mid-write. Temporary files are
named ``.<name>.<pid>.tmp`` and are cleaned by :func:`remove_stale_temporaries`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

TMP_SUFFIX = ".tmp"


def _tmp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")


@contextmanager
def atomic_open(
    path: str | Path,
    mode: str = "w",
    *,
    encoding: str | None = "utf-8",
    newline: str | None = "",
    errors: str | None = None,
    durable: bool = False,
) -> Iterator[IO]:  # type: ignore[type-arg]
    """Open a temporary file for ``path``; on a clean exit rename it over ``path``.

    ``mode`` is ``"w"`` or ``"wb"``. With ``durable`` the data is fsynced before the rename.
    On an exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_path(target)
    binary = "b" in mode
    fh = tmp.open(mode) if binary else tmp.open(mode, encoding=encoding, newline=newline, errors=errors)
    try:
        with fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | Path, text: str, *, durable: bool = False, encoding: str = "utf-8") -> None:
    """Write ``text`` (UTF-8 unless ``encoding`` says otherwise, newlines untouched) atomically."""
    with atomic_open(path, "w", durable=durable, encoding=encoding) as fh:
        fh.write(text)


def remove_stale_temporaries(folder: str | Path, *, recursive: bool = False) -> int:
    """Delete temporary files a killed writer left in ``folder``; return how many."""
    n = 0
    root = Path(folder)
    if not root.is_dir():
        return 0
    pattern = f".*{TMP_SUFFIX}"
    for tmp in root.rglob(pattern) if recursive else root.glob(pattern):
        if tmp.is_file():
            tmp.unlink(missing_ok=True)
            n += 1
    return n

"""Pack a head (a :class:`~alia_clin.encoder.heads.WordTagger` or a
:class:`~alia_clin.encoder.ensemble.TaggerEnsemble`) into bytes and back.

Used by the head-backed stages (``alia_ner``, the model layer of ``alia_deid``) for
``to_bytes``/``from_bytes``: the files the head's ``save`` writes (``head.json``,
``head.safetensors``; for an ensemble ``ensemble.json`` and ``member_<i>/…``) are packed into a
dict ``{relative path: bytes}``. Reads and writes nothing on disk beyond a temporary folder.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AliaClinValueError, ErrorCode

if TYPE_CHECKING:
    from ..encoder.ensemble import TaggerEnsemble
    from ..encoder.heads import WordTagger

_FILES = ("head.json", "head.safetensors")
_ENSEMBLE = "ensemble.json"


def write_head(head: WordTagger | TaggerEnsemble | None, folder: Path, *, dtype: str = "float32") -> None:
    """Replace ``folder`` with the head's files (remove it when ``head`` is None), so that no
    file of an earlier head (a stale ``ensemble.json``, a removed head) is read back."""
    if folder.is_dir():
        shutil.rmtree(folder)
    if head is not None:
        head.save(folder, dtype=dtype)


def head_to_files(head: WordTagger | TaggerEnsemble, *, dtype: str = "float32") -> dict[str, bytes]:
    """The head's files as ``{relative path: content}``."""
    with tempfile.TemporaryDirectory() as tmp:
        head.save(tmp, dtype=dtype)
        root = Path(tmp)
        files = sorted(f for f in root.rglob("*") if f.is_file())
        return {f.relative_to(root).as_posix(): f.read_bytes() for f in files}


def head_from_files(files: dict[str, bytes]) -> WordTagger | TaggerEnsemble:
    """Rebuild a head from :func:`head_to_files` output (``E106`` if a file is missing or a
    path leaves the head's folder)."""
    from ..encoder.ensemble import load_tagger

    missing = [] if _ENSEMBLE in files else [n for n in _FILES if n not in files]
    if missing:
        raise AliaClinValueError(ErrorCode.E106, path="<bytes>", reason=f"missing {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        for name, content in files.items():
            dest = (root / name).resolve()
            if root not in dest.parents:
                raise AliaClinValueError(ErrorCode.E106, path="<bytes>", reason="a file path leaves the head")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(content)
        return load_tagger(root)

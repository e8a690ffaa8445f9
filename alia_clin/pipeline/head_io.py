"""Pack a :class:`~alia_clin.encoder.heads.WordTagger` head into bytes and back.

Used by the head-backed stages (``alia_ner``, the model layer of ``alia_deid``) for
``to_bytes``/``from_bytes``: the files :meth:`WordTagger.save` writes (``head.json``,
``head.safetensors``) are packed into a dict ``{file name: bytes}``. Reads and writes nothing
on disk beyond a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AliaClinValueError, ErrorCode

if TYPE_CHECKING:
    from ..encoder.heads import WordTagger

_FILES = ("head.json", "head.safetensors")


def head_to_files(head: WordTagger, *, dtype: str = "float32") -> dict[str, bytes]:
    """The head's files as ``{name: content}``."""
    with tempfile.TemporaryDirectory() as tmp:
        head.save(tmp, dtype=dtype)
        return {name: (Path(tmp) / name).read_bytes() for name in _FILES}


def head_from_files(files: dict[str, bytes]) -> WordTagger:
    """Rebuild a head from :func:`head_to_files` output (``E106`` if a file is missing)."""
    from ..encoder.heads import WordTagger

    missing = [n for n in _FILES if n not in files]
    if missing:
        raise AliaClinValueError(ErrorCode.E106, path="<bytes>", reason=f"missing {', '.join(missing)}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in _FILES:
            (Path(tmp) / name).write_bytes(files[name])
        return WordTagger.load(tmp)

"""The settings of one batch run that every chunk (and every worker process) needs.

Plain, picklable data: the run builds it once, workers receive it at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..io.options import ReaderOptions


@dataclass(frozen=True)
class BatchSettings:
    """What to run and what to write.

    ``tasks``: the CLI tasks run; ``disabled``: pipes switched off for them; ``outputs``: output
    format names (the always-on ``documents``/``errors`` are added by the run); ``operator`` /
    ``secret``: de-identification for text outputs; ``language``: a code or ``auto`` (detect per
    note where the record gives none); ``max_chars``: longer notes fail as ``oversize``;
    ``entity_text``: PHI policy of the entity table; ``entities_from``: BRAT folder whose
    entities replace the NER stage; ``input_format`` / ``copy_format`` / ``text_col``: how the
    de-identified copy of the export is written (``input_path``, ``reader_options``).
    """

    tasks: tuple[str, ...]
    disabled: tuple[str, ...]
    outputs: tuple[str, ...]
    operator: str = "tag"
    secret: str | None = None
    language: str = "auto"
    max_chars: int | None = None
    entity_text: str = "none"
    entities_from: str | None = None
    batch_size: int = 32
    input_format: str = "txt"
    copy_format: str | None = None
    text_col: str = "text"
    input_path: str = ""
    reader_options: ReaderOptions | None = None

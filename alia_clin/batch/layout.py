"""Where a batch run keeps its files inside the output folder.

``OUT/alia-run.json``: the run manifest; ``OUT/.alia-parts/<format>/``: per-chunk part files
of the aggregate outputs, merged into ``OUT/<file>`` when every chunk is finished and removed
after the manifest records the run as complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = "alia-run.json"
PARTS_DIR = ".alia-parts"


@dataclass(frozen=True)
class RunLayout:
    """Paths of one run's output folder."""

    out: Path

    @property
    def manifest(self) -> Path:
        """The run manifest."""
        return self.out / MANIFEST_NAME

    @property
    def parts(self) -> Path:
        """The folder of part files."""
        return self.out / PARTS_DIR

    def part_dir(self, fmt: str) -> Path:
        """The part folder of one output format."""
        return self.parts / fmt

    def part(self, fmt: str, chunk: int, suffix: str) -> Path:
        """The part file of ``chunk`` for ``fmt`` (zero-padded, so name order is chunk order)."""
        return self.part_dir(fmt) / f"{chunk:08d}{suffix}"

    def chunk_parts(self, fmt: str, chunks: list[int], suffix: str) -> list[Path]:
        """The existing part files of ``chunks`` for ``fmt``, in chunk order."""
        paths = (self.part(fmt, c, suffix) for c in sorted(chunks))
        return [p for p in paths if p.exists()]

"""Cut a record stream into numbered chunks of fixed size.

Chunk ``k`` holds records ``k*size … (k+1)*size-1`` of the reader's order, so the same input
and chunk size always give the same chunks: that is what makes resuming by chunk number exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from ..io.folders import NoteRecord


@dataclass(frozen=True)
class Chunk:
    """Records ``index*size`` … of the input (``records`` in input order)."""

    index: int
    records: tuple[NoteRecord, ...]


def iter_chunks(
    records: Iterable[NoteRecord], size: int, *, skip: frozenset[int] = frozenset()
) -> Iterator[Chunk]:
    """Yield the chunks of ``records``; chunks whose index is in ``skip`` are read and dropped."""
    it = iter(records)
    index = 0
    while True:
        batch = tuple(islice(it, size))
        if not batch:
            return
        if index not in skip:
            yield Chunk(index, batch)
        index += 1

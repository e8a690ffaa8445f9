"""Run chunks in-process or in ``N`` spawned worker processes, results in input order.

Each worker loads the pipeline once (``alia_clin.load(model)``), switches off the pipes the
run does not need and, when torch is importable, calls ``torch.set_num_threads`` so that the
workers together use the machine's cores without oversubscription. At most ``2 × N`` chunks
are in flight, so memory stays bounded whatever the input size.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from spacy.language import Language

from ..errors import AliaClinRuntimeError, ErrorCode
from .chunks import Chunk
from .processor import ChunkProcessor, ChunkResult
from .settings import BatchSettings

logger = logging.getLogger("alia_clin")

_PROCESSOR: ChunkProcessor | None = None


def set_torch_threads(n: int) -> bool:
    """``torch.set_num_threads(n)`` when torch is importable; True when it was set."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    torch.set_num_threads(max(1, n))
    return True


def _init_worker(model: str | None, settings: BatchSettings, threads: int) -> None:
    global _PROCESSOR
    from .. import load
    from ..extensions import install_extensions

    install_extensions()
    set_torch_threads(threads)
    nlp = load(model)
    for name in settings.disabled:
        if name in nlp.pipe_names:
            nlp.disable_pipe(name)
    _PROCESSOR = ChunkProcessor(nlp, settings)


def _run_chunk(chunk: Chunk) -> ChunkResult:
    assert _PROCESSOR is not None, "worker not initialized"
    return _PROCESSOR.process(chunk)


def threads_per_worker(workers: int) -> int:
    """CPU threads each worker may use."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def run_in_process(nlp: Language, settings: BatchSettings, chunks: Iterable[Chunk]) -> Iterator[ChunkResult]:
    """Process ``chunks`` with ``nlp`` in this process (pipes in ``settings.disabled`` off)."""
    disabled = [p for p in settings.disabled if p in nlp.pipe_names]
    processor = ChunkProcessor(nlp, settings)
    with nlp.select_pipes(disable=disabled):
        for chunk in chunks:
            yield processor.process(chunk)


def run_in_workers(
    model: str | None, settings: BatchSettings, chunks: Iterable[Chunk], workers: int
) -> Iterator[ChunkResult]:
    """Process ``chunks`` in ``workers`` spawned processes; yield results in input order."""
    ctx = multiprocessing.get_context("spawn")
    window = 2 * workers
    pending: deque[tuple[int, Future[Any]]] = deque()
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(model, settings, threads_per_worker(workers)),
    ) as pool:
        it = iter(chunks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                chunk = next(it, None)
                if chunk is None:
                    exhausted = True
                    break
                pending.append((chunk.index, pool.submit(_run_chunk, chunk)))
            if not pending:
                return
            index, future = pending.popleft()
            try:
                result: ChunkResult = future.result()
            except BrokenProcessPool as exc:
                raise AliaClinRuntimeError(
                    ErrorCode.E509, chunk=index, reason=exc.__class__.__name__
                ) from None
            yield result

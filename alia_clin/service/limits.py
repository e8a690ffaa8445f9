"""Bounded concurrency with backpressure, per-request timeouts and the body-size limit.

:class:`WorkerPool` runs the blocking NLP work in a thread pool of ``max_concurrency`` threads
so the event loop stays free; at most ``max_queue`` more requests may wait for a thread, one
more is refused at once with 429. A request that runs past ``timeout_s`` is answered 503; its
thread cannot be interrupted, so its slot is only released when the work really ends (the
pool never over-commits the CPUs). :func:`read_limited_body` reads a request body and stops at
the byte limit (413), whether or not the client sent ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.requests import Request

from ..errors import ErrorCode
from .outcome import ServiceError

T = TypeVar("T")


class WorkerPool:
    """A thread pool with an admission counter (running + waiting ≤ concurrency + queue)."""

    def __init__(self, max_concurrency: int, max_queue: int, timeout_s: float) -> None:
        self.max_concurrency = max_concurrency
        self.capacity = max_concurrency + max_queue
        self.timeout_s = timeout_s
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="alia-worker")
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def admitted(self) -> int:
        """Requests running or waiting now."""
        return self._admitted

    def _admit(self) -> None:
        with self._lock:
            if self._admitted >= self.capacity:
                raise ServiceError(
                    429, ErrorCode.E624, "throttled", headers={"Retry-After": "1"}, limit=self.capacity
                )
            self._admitted += 1

    def _release(self, _future: object = None) -> None:
        with self._lock:
            self._admitted -= 1

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in a worker thread; 429 when full, 503 after the timeout."""
        self._admit()
        try:
            future = self._executor.submit(fn)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(self._release)
        wrapped = asyncio.wrap_future(future)
        try:
            return await asyncio.wait_for(asyncio.shield(wrapped), timeout=self.timeout_s)
        except asyncio.TimeoutError:
            future.cancel()  # only helps when it is still waiting for a thread
            wrapped.add_done_callback(_consume)
            raise ServiceError(
                503, ErrorCode.E625, "timeout", headers={"Retry-After": "5"}, timeout=self.timeout_s
            ) from None

    def shutdown(self) -> None:
        """Stop accepting work; running work finishes in the background."""
        self._executor.shutdown(wait=False, cancel_futures=True)


def _consume(fut: asyncio.Future[Any]) -> None:
    """Retrieve the result of an abandoned future so asyncio does not log it as unhandled."""
    with contextlib.suppress(BaseException):
        fut.result()


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The request body, or a 413 ServiceError as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ServiceError(413, ErrorCode.E620, "too-costly", limit=limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServiceError(413, ErrorCode.E620, "too-costly", limit=limit)
        chunks.append(chunk)
    return b"".join(chunks)

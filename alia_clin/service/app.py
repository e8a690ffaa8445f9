"""The FastAPI application of ``alia-clin serve``: lifespan, middleware and error handlers.

:func:`create_app` wires the settings into an app. The model is loaded once, in a background
thread started by the lifespan, so ``/healthz`` answers at once and ``/readyz`` says 503 until
the pipeline is ready. Every error leaves as a FHIR OperationOutcome; an unexpected exception
becomes a 500 with a reference id and no internals (the log gets the exception type and code
locations only, never its message, which could quote note text).
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from spacy.language import Language
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import AliaClinError, ErrorCode
from .auth import Authenticator
from .engine import Engine
from .limits import WorkerPool
from .outcome import FHIR_JSON, ServiceError, outcome
from .settings import ServiceSettings
from .upstream import UpstreamWriter

log = logging.getLogger("alia_clin")
access_log = logging.getLogger("alia_clin.access")

ModelLoader = Callable[[ServiceSettings], Language]


class FhirResponse(JSONResponse):
    """A JSON response with the FHIR media type."""

    media_type = FHIR_JSON


@dataclass
class ServiceState:
    """What the routes share: settings, auth, the worker pool and (once loaded) the engine."""

    settings: ServiceSettings
    auth: Authenticator
    pool: WorkerPool
    engine: Engine | None = None
    load_error: str | None = None
    upstream: UpstreamWriter | None = None
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)


def default_loader(settings: ServiceSettings) -> Language:
    """Load the configured pipeline (the embedded default when none is given)."""
    from .. import load

    return load(settings.model)


def _sanitized_trace(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-5:]
    return " <- ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}:{f.name}" for f in reversed(frames))


class AccessLogMiddleware:
    """One log line per request: id, method, path (no query string), status, duration.

    Nothing from the body or the query string is logged (they can carry identifiers)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        started = False

        async def send_tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send_wrapper(message)

        try:
            await self.app(scope, receive, send_tracked)
        except Exception as exc:  # the last line of defence: 500 without internals, never re-raised
            log.error(
                "[E627] request %s failed: %s at %s",
                request_id,
                exc.__class__.__name__,
                _sanitized_trace(exc),
            )
            if not started:
                err = ServiceError(500, ErrorCode.E627, "exception", reference=request_id)
                await _error_response(err)(scope, receive, send_wrapper)
        finally:
            access_log.info(
                "%s %s %s %d %.1fms",
                request_id,
                scope.get("method", "-"),
                scope.get("path", "-"),
                status,
                (time.perf_counter() - start) * 1000,
            )


def _error_response(exc: ServiceError) -> Response:
    return FhirResponse(exc.to_outcome(), status_code=exc.status, headers=exc.headers)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(_request: Request, exc: ServiceError) -> Response:
        return _error_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        issue_type = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
        body = outcome(
            "error",
            issue_type,
            f"[E629] Unknown route or method: {request.method} {request.url.path}.",
            code="E629",
        )
        return FhirResponse(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, _exc: RequestValidationError) -> Response:
        err = ServiceError(400, ErrorCode.E622, "structure", reason="request parameters not valid")
        return _error_response(err)

    @app.exception_handler(AliaClinError)
    async def _coded_error(_request: Request, exc: AliaClinError) -> Response:
        body = outcome(
            "error", "processing", f"[{exc.code}] the request could not be processed", code=exc.code
        )
        return FhirResponse(body, status_code=422)


def create_app(
    settings: ServiceSettings | None = None,
    *,
    loader: ModelLoader = default_loader,
    upstream_transport: Any = None,
) -> FastAPI:
    """Build the service app. ``loader`` loads the pipeline (tests pass a cheap or slow one);
    ``upstream_transport`` is an optional httpx transport for the upstream writer."""
    settings = settings or ServiceSettings()
    settings.check()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = ServiceState(
            settings=settings,
            auth=Authenticator(settings),
            pool=WorkerPool(settings.max_concurrency, settings.max_queue, settings.request_timeout_s),
        )
        if settings.fhir_upstream:
            state.upstream = UpstreamWriter(
                settings.fhir_upstream,
                token=settings.upstream_token,
                retries=settings.upstream_retries,
                backoff_s=settings.upstream_backoff_s,
                timeout_s=settings.upstream_timeout_s,
                transport=upstream_transport,
            )
        app.state.alia = state

        async def load() -> None:
            start = time.perf_counter()
            try:
                nlp = await asyncio.to_thread(loader, settings)
            except Exception as exc:  # reported by /readyz; the service stays up but not ready
                state.load_error = exc.code if isinstance(exc, AliaClinError) else exc.__class__.__name__
                log.error("model load failed: %s", state.load_error)
                return
            engine = Engine(nlp, settings)
            try:  # the Device hashes the model files once, before the first request
                await asyncio.to_thread(lambda: engine.config)
            except ServiceError as exc:
                log.warning("FHIR mapping not ready: %s", exc.code)
            state.engine = engine
            log.info(
                "model loaded in %.1f s (pipes: %s)", time.perf_counter() - start, ", ".join(nlp.pipe_names)
            )

        task = asyncio.create_task(load())
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
        try:
            yield
        finally:
            task.cancel()
            state.pool.shutdown()
            if state.upstream is not None:
                await state.upstream.aclose()

    app = FastAPI(
        title="alia_clin FHIR service",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.openapi else None,
        default_response_class=FhirResponse,
    )
    _install_handlers(app)
    from .routes import router

    app.include_router(router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessLogMiddleware)
    return app

"""The FastAPI app: sessions API, SSE, the OpenAI-compatible endpoint, health, the web page.

``create_app()`` is the factory uvicorn runs (``lingshu serve``); tests pass their
own ``Lingshu`` (a scripted model) and settings.
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent.server import routes_openai, routes_sessions
from agent.server.auth import OPEN_WARNING
from agent.server.guards import JsonGuard
from agent.server.page import favicon_response, page_response
from agent.server.service import Service
from agent.session import Lingshu
from agent.settings import Settings

access_log = logging.getLogger("lingshu.access")
STATIC = resources.files("agent.server") / "static"


def create_app(settings: Settings | None = None, *, agent: Lingshu | None = None) -> FastAPI:
    """The service; the agent and stores open at start-up (one set per worker)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = Service.open(settings or Settings(), agent=agent)
        app.state.service = service
        # What start-up loaded (libraries, stores: close to a million objects) lives as
        # long as the worker. Frozen, it is no longer walked by every full collection,
        # which otherwise stops all turns for a quarter of a second now and then.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await service.aclose_model()
            service.close()

    app = FastAPI(
        title="Lingshu clinical reasoning agent",
        version="0.1.0",
        description=(
            "Consultation sessions with cited, verified answers; an OpenAI-compatible chat "
            "endpoint. Decision support for clinicians, not a medical device."
        ),
        lifespan=lifespan,
    )
    app.include_router(routes_sessions.router)
    app.include_router(routes_openai.router)
    _document_errors(app)
    _add_health(app)
    _add_errors(app)
    # Outermost last: the size limit, then the access log, then the JSON depth/text checks.
    app.add_middleware(JsonGuard, max_depth=lambda: _depth(app), error=error_body)
    app.add_middleware(AccessLog)
    app.add_middleware(BodyLimit, max_bytes=lambda: _limit(app))
    return app


def _limit(app: FastAPI) -> int:
    service: Service | None = getattr(app.state, "service", None)
    return service.settings.server_max_body_bytes if service else 25 * 1024 * 1024


def _depth(app: FastAPI) -> int:
    service: Service | None = getattr(app.state, "service", None)
    return service.settings.server_max_json_depth if service else 64


# --- health and the page ----------------------------------------------------------------


def _add_health(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> Response:
        return page_response()  # with its Content-Security-Policy

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return favicon_response()

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        """The process is up (``worker``: the process that answered)."""
        return {"status": "ok", "worker": os.getpid()}

    @app.get("/readyz", tags=["health"])
    def readyz(request: Request) -> JSONResponse:
        """Ready when the session store and the model endpoint answer; lists the stores and
        whether access is open (no API keys: every caller may open every patient)."""
        checks = _readiness(request.app.state.service)
        ready = checks["sessions"]["ok"] and checks["model"]["ok"]
        return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


def _readiness(service: Service) -> dict[str, Any]:
    s = service.settings
    checks: dict[str, Any] = {"access": _access(service)}
    try:
        service.registry.ping()
        checks["sessions"] = {"ok": True}
    except Exception as exc:
        checks["sessions"] = {"ok": False, "error": type(exc).__name__}
    if s.backend == "openai":
        try:
            reply = httpx.get(
                s.base_url.rstrip("/") + "/models",
                headers={"Authorization": f"Bearer {s.api_key}"},
                timeout=3.0,
            )
            checks["model"] = {"ok": reply.status_code < 500, "status": reply.status_code}
        except httpx.HTTPError as exc:
            checks["model"] = {"ok": False, "error": type(exc).__name__}
    else:
        checks["model"] = {"ok": True, "backend": s.backend}
    res = service.agent.resources
    checks["stores"] = {
        "guidelines": res.guidelines is not None,
        "ehr": res.ehr is not None,
        "problems": list(res.problems),
    }
    return checks


def _access(service: Service) -> dict[str, Any]:
    if service.keys.open:
        return {"open": True, "keys": 0, "warning": OPEN_WARNING}
    return {"open": False, "keys": len(service.keys)}


# --- errors: always JSON, 4xx for the caller's faults --------------------------------------


def error_body(status: int, message: str) -> dict[str, Any]:
    """FastAPI's ``detail`` and OpenAI's ``error`` object, so either kind of client reads it."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"detail": message, "error": {"message": message, "type": kind, "code": status}}


ERROR_SCHEMA: dict[str, Any] = {
    "title": "Error",
    "type": "object",
    "required": ["detail", "error"],
    "properties": {
        "detail": {"type": "string"},
        "error": {
            "type": "object",
            "required": ["message", "type", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "code": {"type": "integer"},
            },
        },
    },
}


def _document_errors(app: FastAPI) -> None:
    """Publish the error body the service really sends (``error_body``) where FastAPI's
    schema would describe its own validation-error list."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            components["HTTPValidationError"] = ERROR_SCHEMA
            components.pop("ValidationError", None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


def _add_errors(app: FastAPI) -> None:
    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            error_body(exc.status_code, str(exc.detail)),
            status_code=exc.status_code,
            headers=exc.headers,
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        ]
        return JSONResponse(error_body(422, "; ".join(problems)[:2000]), status_code=422)


# --- middleware ---------------------------------------------------------------------------


class BodyLimit:
    """413 for a body over the limit, by Content-Length or while it streams in."""

    def __init__(self, app: ASGIApp, max_bytes: Any) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = int(self.max_bytes())
        too_large = f"request body over {limit:,} bytes; send fewer or smaller images"
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            status = 413 if length.isdigit() else 400
            message = too_large if status == 413 else "invalid Content-Length"
            await JSONResponse(error_body(status, message), status_code=status)(
                scope, receive, send
            )
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, limited, send)


class AccessLog:
    """One line per request: method, route template, status, milliseconds; no ids, no IPs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            ms = (time.perf_counter() - start) * 1000
            access_log.info("%s %s %s %.0fms", scope["method"], template, status or 500, ms)


__all__ = ["create_app", "error_body"]

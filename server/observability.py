"""What operators see: one JSON log line per request, /metrics and /readyz.

`RequestLog` is the outermost ASGI layer: it gives every request an id (the `X-Request-Id`
header, and `requestId` in a masked error), counts it, and writes its line when it ends.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import ipaddress
import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

from core.context import Services
from core.metrics import DatabaseFigures
from core.trace import Outcome, RequestTrace
from resolvers.monitoring import database_figures, readiness

REQUEST_LOG = "exam_review.requests"
REQUEST_ID_HEADER = "X-Request-Id"
TRACE_KEY = "trace"
log = logging.getLogger(REQUEST_LOG)

# Route labels of /metrics: a fixed set, whatever paths callers invent.
_ROUTES = ("/graphql", "/pictures", "/examples", "/healthz", "/readyz", "/metrics")


def route_of(path: str) -> str:
    for route in _ROUTES:
        if path == route or path.startswith(route + "/"):
            return route
    return "static"


def trace_of(scope: Scope) -> RequestTrace:
    """The trace RequestLog made for this request (a fresh one outside it)."""
    state = scope.get("state")
    trace = state.get(TRACE_KEY) if isinstance(state, dict) else None
    return trace if isinstance(trace, RequestTrace) else RequestTrace()


def _outcome_of(status: int) -> Outcome:
    if status >= 500:
        return Outcome.SERVER_ERROR
    return Outcome.CLIENT_ERROR if status >= 400 else Outcome.OK


class RequestLog:
    """Request id, X-Request-Id, the per-request JSON line, HTTP counts and open sockets."""

    def __init__(self, app: ASGIApp, services: Services) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        trace = RequestTrace()
        # Starlette's request.state reads scope["state"]; uvicorn gives each request its own copy.
        scope.setdefault("state", {})[TRACE_KEY] = trace
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send, trace)
            return
        status = 0

        async def traced_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER.lower().encode(), trace.request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, traced_send)
        except Exception as exc:
            failure = f"{type(exc).__name__}: {exc}"[:300]
            if status:  # the answer had begun: nothing better to send than what uvicorn does
                self._finish(scope, trace, 500, failure)
                raise
            # Answer here rather than in Starlette's outer handler, so the 500 carries the id.
            logging.getLogger("exam_review.errors").exception("request %s failed", trace.request_id)
            status = 500
            await _server_error(trace, route_of(scope.get("path", "")))(scope, receive, send)
            self._finish(scope, trace, status, failure)
            return
        self._finish(scope, trace, status)

    async def _socket(self, scope: Scope, receive: Receive, send: Send, trace: RequestTrace) -> None:
        gauge = self.services.metrics.open_websockets
        accepted = False

        async def counted_send(message: Message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept" and not accepted:
                accepted = True
                gauge.inc()
            await send(message)

        try:
            await self.app(scope, receive, counted_send)
        finally:
            if accepted:
                gauge.dec()
            self._finish(scope, trace, 101 if accepted else 403)

    def _finish(self, scope: Scope, trace: RequestTrace, status: int, error: str | None = None) -> None:
        path = scope.get("path", "")
        route = route_of(path)
        if scope["type"] == "http":
            self.services.metrics.http_requests.labels(route, str(status)).inc()
        outcome = trace.outcome if route == "/graphql" and trace.outcome else _outcome_of(status)
        line: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "request_id": trace.request_id,
            "method": scope.get("method", "WS"),
            "path": path,
            "status": status,
            "operation": trace.operation,
            "operation_type": trace.operation_type,
            "viewer_role": trace.viewer_role,
            "viewer_id": trace.viewer_id,
            "duration_ms": round(trace.elapsed() * 1000, 1),
            "outcome": outcome.value,
            "pid": os.getpid(),
        }
        if error or trace.error:
            line["error"] = error or trace.error
        log.info(json.dumps(line, ensure_ascii=False))


def _server_error(trace: RequestTrace, route: str) -> Response:
    """A 500 that carries its id: as GraphQL errors on /graphql, as text elsewhere."""
    message = "服务器内部错误，请稍后重试。"
    headers = {REQUEST_ID_HEADER: trace.request_id}
    if route == "/graphql":
        extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": trace.request_id}
        body = {"errors": [{"message": message, "extensions": extensions}]}
        return JSONResponse(body, 500, headers=headers)
    return PlainTextResponse(f"{message}（错误编号 {trace.request_id}）", 500, headers=headers)


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with the request lines as bare JSON on stdout (its access log is off)."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["json_line"] = {"format": "%(message)s"}
    config["handlers"]["requests"] = {
        "formatter": "json_line",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"][REQUEST_LOG] = {"handlers": ["requests"], "level": "INFO", "propagate": False}
    # Everything else the service logs (errors with their request id, broker reconnects, …).
    config["root"] = {"handlers": ["default"], "level": "INFO"}
    return config


# /metrics ---------------------------------------------------------------------------------


def may_scrape(request: Request, token: str) -> bool:
    """Loopback callers, or a caller presenting METRICS_TOKEN as a bearer token."""
    if token:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(presented.strip(), token):
            return True
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DatabaseFiguresCache:
    """The database figures of /metrics, read at most every `max_age` seconds per worker and
    given up on after a second (the scrape still shows the process's own series)."""

    def __init__(self, max_age: float) -> None:
        self.max_age = max_age
        self._figures: DatabaseFigures | None = None
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def get(self) -> DatabaseFigures | None:
        async with self._lock:
            if time.monotonic() - self._read_at >= self.max_age:
                try:
                    async with asyncio.timeout(1.0):
                        self._figures = await database_figures()
                except Exception as exc:
                    logging.getLogger(__name__).warning("metrics: database figures not read: %r", exc)
                    self._figures = None
                self._read_at = time.monotonic()
            return self._figures


async def metrics_response(
    request: Request, services: Services, figures: DatabaseFiguresCache
) -> Response:
    if not may_scrape(request, services.settings.metrics_token):
        return PlainTextResponse("无权读取监控指标。", 403)
    body = services.metrics.render(await figures.get())
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


async def readiness_response(services: Services) -> Response:
    parts = await readiness(services.store, services.broker)
    status = 200 if all(value == "ok" for value in parts.values()) else 503
    return JSONResponse(parts, status_code=status)

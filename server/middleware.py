"""ASGI layers in front of the GraphQL view: the ORM context, the body cap and CSRF."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.context import TortoiseContext, _current_context


class BindDatabase:
    """Make the app's TortoiseContext current in every request and socket task.

    Uvicorn runs the lifespan in one task and each connection in another, so a
    context entered at start-up is not visible to requests without this.
    """

    def __init__(self, app: ASGIApp, holder: dict[str, TortoiseContext]) -> None:
        self.app = app
        self.holder = holder

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        orm = self.holder.get("orm")
        if scope["type"] == "lifespan" or orm is None:
            await self.app(scope, receive, send)
            return
        token = _current_context.set(orm)
        try:
            await self.app(scope, receive, send)
        finally:
            _current_context.reset(token)


class _BodyTooLarge(Exception):
    pass


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(
        {"errors": [{"message": message, "extensions": {"code": code}}]}, ensure_ascii=False
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class GuardRequestBody:
    """Cap every request body before anything parses it, and refuse CSRF-able multipart posts.

    A multipart form is a "simple" request a foreign page can send without a CORS
    preflight; requiring the Authorization header (never a cookie) makes it non-simple.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").lower()
        if content_type.startswith("multipart/") and not headers.get("authorization", "").strip():
            await _refuse(
                send, 403, "CSRF_REFUSED",
                "上传请求必须带 Authorization 请求头（请先登录）。",
            )
            return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            await _refuse(send, 413, "BODY_TOO_LARGE", self._too_large())
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            if not started:
                await _refuse(send, 413, "BODY_TOO_LARGE", self._too_large())

    def _too_large(self) -> str:
        return f"请求内容过大，上限为 {self.max_body_bytes // 1024} KB。"

"""ASGI layers in front of the GraphQL view: the ORM context, the body cap and CSRF."""

from __future__ import annotations

import asyncio
import json
import time

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


class _BodyTooSlow(Exception):
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
    The whole body must also arrive within `body_read_timeout` seconds: a client trickling
    bytes would otherwise hold a connection and a spooled form open for ever.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_read_timeout: float = 30) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_read_timeout = body_read_timeout
        # How much of a refused body is read and dropped so the client can read the refusal.
        self.drain_limit = 4 * max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.body_read_timeout
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").lower()
        declared = headers.get("content-length")
        # A client that waits for "100 Continue" has sent no body yet: answer without asking for it.
        expects_continue = headers.get("expect", "").lower() == "100-continue"
        if content_type.startswith("multipart/") and not headers.get("authorization", "").strip():
            if not expects_continue:
                await self._drain(receive, declared, deadline)
            await _refuse(
                send, 403, "CSRF_REFUSED",
                "上传请求必须带 Authorization 请求头（请先登录）。",
            )
            return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body_bytes):
            if not expects_continue:
                await self._drain(receive, declared, deadline)
            await _refuse(send, 413, "BODY_TOO_LARGE", self._too_large())
            return

        received = 0
        started = False
        body_done = False

        async def counted_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                raise _BodyTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
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
                if not body_done:
                    await self._drain(receive, None, deadline)
                await _refuse(send, 413, "BODY_TOO_LARGE", self._too_large())
        except _BodyTooSlow:
            if not started:
                await _refuse(
                    send, 408, "REQUEST_TIMEOUT",
                    f"上传超时：请求内容须在 {self.body_read_timeout:g} 秒内发送完毕，请检查网络后重试。",
                )

    async def _drain(self, receive: Receive, declared: str | None, deadline: float) -> None:
        """Read and drop the rest of a refused body, within the drain limit and the deadline.

        Closing a socket that still holds unread request bytes makes the kernel send a reset,
        and the client then loses the refusal it has not read yet.
        """
        if declared is not None and (not declared.isdigit() or int(declared) > self.drain_limit):
            return
        drained = 0
        while drained <= self.drain_limit:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - time.monotonic(), 0))
            except TimeoutError:
                return
            if message["type"] != "http.request":
                return
            drained += len(message.get("body", b""))
            if not message.get("more_body", False):
                return

    def _too_large(self) -> str:
        return f"请求内容过大，上限为 {self.max_body_bytes // 1024} KB。"

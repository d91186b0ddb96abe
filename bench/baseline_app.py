"""The baseline: bare Starlette doing the unavoidable work of each measured path, nothing more.

- POST /upload: the same multipart body the service gets; the file is checked and thumbnailed
  by the service's own `inspect_picture` (in a worker thread, as the service does) and both
  files are written by the service's own `LocalStore` (fsync + rename + folder fsync).
- POST /upload-min: the floor under any upload: the same body parsed, the JPEG decoded at 1/8
  scale (the least a check can decode) and the file written once, fsynced.
- WS /ws?c=<candidate id>: a socket per candidate; POST /push {"candidate_id", "message_id"}
  sends that candidate's socket the same JSON frame the service's subscription sends.
  With BENCH_BROKER_URL (redis://…) pushes go through Redis pub/sub so several workers share them.

    uvicorn bench.baseline_app:app --port 9000 [--workers 2]
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from storage.images import PictureRefused, PictureRules, inspect_picture
from storage.local import LocalStore

RULES = PictureRules(
    formats=("jpeg", "png"), max_bytes=204800, min_side=300, max_pixels=40_000_000,
    thumbnail_side=320,
)
STORE = LocalStore(os.environ.get("BENCH_STORE", "var/baseline-files"))
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "")
CHANNEL = "bench-baseline-push"
SOCKETS: dict[int, WebSocket] = {}
STATE: dict[str, Any] = {}


async def _file(request: Request) -> bytes | None:
    """The multipart body's file part "0", as the service's upload reads it."""
    form = await request.form()
    part = form.get("0")
    if part is None or isinstance(part, str):
        return None
    return await part.read()


async def upload(request: Request) -> Response:
    data = await _file(request)
    if data is None:
        return JSONResponse({"error": "no file"}, status_code=400)
    try:
        picture = await asyncio.to_thread(inspect_picture, data, RULES)
    except PictureRefused as refused:
        return JSONResponse({"error": refused.code})
    name = uuid.uuid4()
    await STORE.put(f"pictures/{name}.jpg", data)
    await STORE.put(f"thumbnails/{name}.jpg", picture.thumbnail)
    return JSONResponse({"id": str(name), "sha256": picture.sha256})


def _decode_eighth(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        size = image.size
        image.draft("RGB", (size[0] // 8, size[1] // 8))
        image.load()
        return size


async def upload_min(request: Request) -> Response:
    data = await _file(request)
    if data is None:
        return JSONResponse({"error": "no file"}, status_code=400)
    await asyncio.to_thread(_decode_eighth, data)
    name = uuid.uuid4()
    await STORE.put(f"pictures/{name}.jpg", data)
    return JSONResponse({"id": str(name), "sha256": "-"})


def _frame(event: dict[str, Any]) -> str:
    return json.dumps(
        {
            "id": "1",
            "type": "next",
            "payload": {
                "data": {
                    "reviewEvents": {
                        "status": "RETURNED",
                        "locked": False,
                        "message": {"id": str(event["message_id"]), "kind": "RETURNED"},
                    }
                }
            },
        }
    )


async def _deliver(event: dict[str, Any]) -> None:
    socket = SOCKETS.get(int(event["candidate_id"]))
    if socket is not None:
        with contextlib.suppress(Exception):
            await socket.send_text(_frame(event))


async def push(request: Request) -> Response:
    event = await request.json()
    if "redis" in STATE:
        await STATE["redis"].publish(CHANNEL, json.dumps(event))
    else:
        await _deliver(event)
    return JSONResponse({"ok": True})


async def sockets(websocket: WebSocket) -> None:
    candidate_id = int(websocket.query_params.get("c", "0"))
    await websocket.accept()
    SOCKETS[candidate_id] = websocket
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        if SOCKETS.get(candidate_id) is websocket:
            del SOCKETS[candidate_id]


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _listen(client: Any) -> None:
    pubsub = client.pubsub()
    await pubsub.subscribe(CHANNEL)
    async for message in pubsub.listen():
        if message.get("type") == "message":
            await _deliver(json.loads(message["data"]))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await STORE.start()
    listener = None
    if BROKER_URL:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(BROKER_URL.split("?", 1)[0])
        STATE["redis"] = client
        listener = asyncio.create_task(_listen(client))
    try:
        yield
    finally:
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener
            await STATE.pop("redis").aclose()


app = Starlette(
    routes=[
        Route("/healthz", health),
        Route("/upload", upload, methods=["POST"]),
        Route("/upload-min", upload_min, methods=["POST"]),
        Route("/push", push, methods=["POST"]),
        WebSocketRoute("/ws", sockets),
    ],
    lifespan=lifespan,
)

"""The service as `exam-review serve` builds it, plus a count of database statements, for the
benchmark only (never imported by the service): `GET /bench/live` answers how many statements
this worker sent, how many subscribers its broker holds and whether its batched lookups are idle;
with BENCH_TRACEMALLOC=1, `/bench/memory` tells what the worker allocated since a reference point.

    uvicorn --factory bench.counted_app:app --ws websockets-sansio
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from tortoise.backends.sqlite.client import SqliteClient

STATEMENTS = [0]


def _counted(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        STATEMENTS[0] += 1
        return await method(self, *args, **kwargs)

    counted.bench_counted = True  # type: ignore[attr-defined]
    return counted


def _count_statements() -> None:
    clients: list[type] = [SqliteClient]
    try:
        from tortoise.backends.asyncpg.client import AsyncpgDBClient

        clients.append(AsyncpgDBClient)
    except ImportError:
        pass
    for client in clients:
        for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many"):
            method = client.__dict__.get(name)
            if method is not None and not getattr(method, "bench_counted", False):
                setattr(client, name, _counted(method))


def _memory_routes() -> list[Route]:
    """With BENCH_TRACEMALLOC=1: `POST /bench/memory` takes the reference snapshot, `GET`
    answers what was allocated since (and is still held), by file, largest first."""
    import tracemalloc

    tracemalloc.start(int(os.environ.get("BENCH_TRACEMALLOC_FRAMES", "1")))
    reference: list[tracemalloc.Snapshot] = []

    async def memory(request: Request) -> Response:
        gc.collect()
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        if request.method == "POST" or not reference:
            reference[:] = [snapshot]
            return JSONResponse({"ok": True})
        by = request.query_params.get("by", "filename")
        stats = snapshot.compare_to(reference[0], "traceback" if by == "traceback" else "filename")
        return JSONResponse([
            {
                "file": str(stat.traceback[-1].filename),
                "frames": [f"{f.filename}:{f.lineno}" for f in stat.traceback],
                "bytes": stat.size_diff,
                "count": stat.count_diff,
            }
            for stat in stats if stat.size_diff
        ])

    return [Route("/bench/memory", memory, methods=["GET", "POST"])]


def app() -> Starlette:
    from server.app import app_from_environment

    routes = _memory_routes() if os.environ.get("BENCH_TRACEMALLOC") == "1" else []
    _count_statements()
    application = app_from_environment()
    services = application.state.services

    async def live(request: Request) -> Response:
        topics = getattr(services.broker, "_topics", None) or getattr(services.broker, "_channels", {})
        return JSONResponse({
            "statements": STATEMENTS[0],
            "subscribers": sum(len(s) for s in topics.values()),
            "idle": all(b.idle for b in getattr(services, "batchers", {}).values()),
        })

    application.router.routes[0:0] = [Route("/bench/live", live), *routes]
    return application

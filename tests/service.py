"""A real service for the tests: uvicorn on a loopback port, in the tests' own event loop."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from tortoise.context import TortoiseContext, _current_context

from server.app import create_app
from server.context import Services
from server.database import migrate
from server.settings import Settings
from tests.client import GraphQLClient


@dataclass
class Service:
    settings: Settings
    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]
    base_url: str

    @property
    def services(self) -> Services:
        return self.app.state.services  # type: ignore[no-any-return]

    @property
    def orm(self) -> TortoiseContext:
        return self.app.state.orm["orm"]  # type: ignore[no-any-return]

    @contextmanager
    def db(self) -> Iterator[None]:
        """Run ORM calls of the test itself against the service's database."""
        token = _current_context.set(self.orm)
        try:
            yield
        finally:
            _current_context.reset(token)

    def client(self, token: str | None = None) -> GraphQLClient:
        return GraphQLClient(self.base_url, token)

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


def test_settings(folder: Path, **overrides: Any) -> Settings:
    settings = Settings(
        database_url=f"sqlite://{folder}/exam-review.sqlite3",
        storage_url=f"file://{folder}/files",
        broker_url="memory://",
        secret_key=secrets.token_urlsafe(32),
        var_dir=folder,
        # Every test signs in from 127.0.0.1; the throttle tests set their own limits.
        throttle_per_address=100_000,
    )
    return replace(settings, **overrides)


async def start_service(settings: Settings) -> Service:
    await migrate(settings)
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return Service(settings, app, server, task, f"http://127.0.0.1:{port}")

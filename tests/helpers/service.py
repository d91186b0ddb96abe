"""A real service for the tests: uvicorn on a loopback port, in the tests' own event loop."""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from tortoise.context import TortoiseContext, _current_context

from core.context import Services
from core.settings import Settings
from server.app import create_app, uvicorn_options
from server.database import migrate
from tests.helpers.client import GraphQLClient
from tests.helpers.engines import REDIS_URL, SeaweedS3, create_database, drop_database
from tests.helpers.waiting import eventually


@dataclass
class Service:
    settings: Settings
    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]
    base_url: str

    @property
    def services(self) -> Services:
        return self.app.state.services

    @property
    def orm(self) -> TortoiseContext:
        return self.app.state.orm["orm"]

    @contextmanager
    def db(self) -> Iterator[None]:
        """Run ORM calls of the test itself against the service's database."""
        token = _current_context.set(self.orm)
        try:
            yield
        finally:
            _current_context.reset(token)
            # What a test writes here stands for an administrator's import, which forgets the
            # process's catalog (tests/core/test_context.py covers the cache itself).
            self.services.catalogs.forget()

    def client(self, token: str | None = None) -> GraphQLClient:
        return GraphQLClient(self.base_url, token)

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


# `EXAM_REVIEW_STACK=scale` runs every test on PostgreSQL + Redis + SeaweedFS (S3).
STACK = os.environ.get("EXAM_REVIEW_STACK", "default").strip().lower() or "default"
if STACK not in ("default", "scale"):
    raise ValueError(f"EXAM_REVIEW_STACK must be 'default' or 'scale', not {STACK!r}")


@dataclass
class ScaleStack:
    """One test run's share of the engines: its own databases, channel prefix and bucket."""

    folder: Path
    s3: SeaweedS3
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    databases: list[str] = field(default_factory=list)
    _count: itertools.count[int] = field(default_factory=itertools.count)
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return f"er-{self.run_id}"

    @classmethod
    def start(cls, folder: Path) -> ScaleStack:
        stack = cls(folder, SeaweedS3(folder / "seaweedfs"))
        stack.s3.start()
        # The service reads S3 credentials from the usual AWS variables.
        for name, value in stack.s3.credentials.items():
            stack._saved_env[name] = os.environ.get(name)
            os.environ[name] = value
        return stack

    def urls(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """A fresh database, a unique channel prefix and key prefix for one service."""
        name = f"er_{self.run_id}_{next(self._count)}"
        urls: dict[str, Any] = {}
        if "database_url" not in overrides:
            urls["database_url"] = create_database(name)
            self.databases.append(name)
        urls["broker_url"] = f"{REDIS_URL}?prefix={name}"
        urls["storage_url"] = self.s3.storage_url(self.bucket, name)
        return urls

    def close(self) -> None:
        try:
            for name in self.databases:
                drop_database(name)
        finally:
            self.s3.stop()  # the bucket lives in the run's own SeaweedFS folder
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


_active_stack: ScaleStack | None = None


def use_stack(stack: ScaleStack | None) -> None:
    """Make test_settings build scale-stack settings (None: back to the embedded default)."""
    global _active_stack
    _active_stack = stack


def test_settings(folder: Path, **overrides: Any) -> Settings:
    if STACK == "scale" and _active_stack is None:
        raise RuntimeError("EXAM_REVIEW_STACK=scale but the scale stack fixture is not running")
    engines = _active_stack.urls(overrides) if _active_stack is not None else {}
    settings = Settings(
        database_url=engines.get("database_url", f"sqlite://{folder}/exam-review.sqlite3"),
        storage_url=engines.get("storage_url", f"file://{folder}/files"),
        broker_url=engines.get("broker_url", "memory://"),
        secret_key=secrets.token_urlsafe(32),
        var_dir=folder,
        # Every test signs in from 127.0.0.1; the throttle tests set their own limits.
        throttle_per_address=100_000,
    )
    return replace(settings, **overrides)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test, wherever imported


async def start_service(settings: Settings, migrated: bool = True) -> Service:
    """A running service; `migrated=False` skips migrating (for a database that is not there)."""
    if migrated:
        await migrate(settings)
    app = create_app(settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **uvicorn_options(settings)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    def listening() -> bool:
        if task.done():
            task.result()  # it could not start: its error, not a timeout
        return server.started

    await eventually(listening, "the service is listening", within=30)
    port = server.servers[0].sockets[0].getsockname()[1]
    return Service(settings, app, server, task, f"http://127.0.0.1:{port}")

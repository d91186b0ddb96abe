"""Opening the database outside a request (CLI, tests) and applying migrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations

from core.settings import Settings


async def migrate(settings: Settings) -> None:
    """Apply every migration not yet applied; safe to run on every start."""
    async with TortoiseContext():
        await run_migrations(config=settings.tortoise_config())


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[TortoiseContext]:
    async with TortoiseContext() as orm:
        await orm.init(config=settings.tortoise_config())
        yield orm

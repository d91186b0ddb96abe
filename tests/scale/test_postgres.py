"""PostgreSQL specifics: migrations apply (and re-apply) cleanly; the candidate row lock is real."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from tortoise.transactions import in_transaction

import tests.helpers.operations as op
from models import Attachment, MaterialCategory
from resolvers.locking import candidate_for_update
from server.database import database, migrate
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.engines import create_database, drop_database, unique_name
from tests.helpers.factories import PASSWORD, load_demo_categories, make_candidate
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import ScaleStack, Service, start_service, test_settings
from tests.helpers.waiting import eventually


async def lock_waiters(database_url: str) -> bool:
    """Whether a session of this database is waiting for a lock."""
    watcher = await asyncpg.connect(database_url)
    try:
        waiting = await watcher.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    finally:
        await watcher.close()
    return bool(waiting)


@pytest.fixture(scope="module")
async def pg_service(
    scale_stack: ScaleStack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    folder = tmp_path_factory.mktemp("pg")
    running = await start_service(test_settings(folder, **scale_stack.urls({})))
    yield running
    await running.stop()


@pytest.fixture(scope="module")
async def pg_categories(
    pg_service: Service, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, MaterialCategory]:
    return await load_demo_categories(pg_service, tmp_path_factory.mktemp("examples"))


async def test_migrations_apply_to_an_empty_database_and_again(tmp_path: Path) -> None:
    name = unique_name("er_migrate")
    settings = test_settings(tmp_path, database_url=create_database(name))
    try:
        await migrate(settings)
        await migrate(settings)  # every start runs it: the second run changes nothing
        async with database(settings), in_transaction() as connection:
            _, tables = await connection.execute_query(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            )
            _, indexes = await connection.execute_query(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'review_message'"
            )
        names = {row["table_name"] for row in tables}
        assert {"candidate", "attachment", "review_message", "audit_entry"} <= names
        # the message index is on the real column (the catch-up reads by candidate and id)
        assert any("(candidate_id, id)" in row["indexdef"] for row in indexes), indexes
    finally:
        drop_database(name)


async def test_an_upload_waits_for_the_candidate_row_lock(
    pg_service: Service, pg_categories: dict[str, MaterialCategory]
) -> None:
    row = await make_candidate(pg_service)
    client = await GraphQLClient(pg_service.base_url).login(row.username, PASSWORD)
    files = {"file": FilePart("id.jpg", small_jpeg(71), "image/jpeg")}
    variables = {"categoryId": str(pg_categories["ID"].id)}
    try:
        with pg_service.db():
            async with candidate_for_update(row.id):
                upload = asyncio.create_task(client.upload(op.UPLOAD, variables, files))
                # the row is locked by SELECT … FOR UPDATE: the upload waits for it, uncommitted
                await eventually(
                    lambda: lock_waiters(pg_service.settings.database_url),
                    "PostgreSQL shows the upload waiting for a lock",
                    within=30,
                    every=0.05,
                )
                assert not upload.done()
                assert await Attachment.filter(candidate_id=row.id).count() == 0
            result = await asyncio.wait_for(upload, 30)
            assert result.payload("uploadAttachment")["errors"] == []
            assert await Attachment.filter(candidate_id=row.id).count() == 1
    finally:
        await client.aclose()

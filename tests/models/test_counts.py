"""models/counts.py QueueCount and the candidate triggers of migration 0007_queue_counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations
from tortoise.transactions import in_transaction

from models import Candidate
from models.enums import ReviewStatus
from server.database import database, migrate
from tests.helpers.counts import grouped_counts, kept_counts
from tests.helpers.factories import make_candidate, unique
from tests.helpers.service import STACK, Service, test_settings
from tests.helpers.waiting import eventually

SUBMITTED, APPROVED, RETURNED = ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, ReviewStatus.RETURNED


async def test_counts_follow_inserts_updates_and_deletes(service: Service) -> None:
    region = unique("计数省")
    a = await make_candidate(service, region=region, site="甲", status=SUBMITTED)
    b = await make_candidate(service, region=region, site="甲", status=SUBMITTED)
    c = await make_candidate(service, region=region, site="乙")
    with service.db():
        assert await kept_counts(region) == {("甲", "SUBMITTED"): (2, 0), ("乙", "DRAFT"): (1, 0)}
        # A decision with its first review, as resolvers/review.py saves it (every column).
        a.status, a.first_review_seconds = APPROVED, 12.5
        await a.save()
        assert await kept_counts(region) == {
            ("甲", "SUBMITTED"): (1, 0), ("甲", "APPROVED"): (1, 1), ("乙", "DRAFT"): (1, 0),
        }
        # A save that changes no counted column changes no count.
        a.phone = "13912345678"
        await a.save()
        # A bulk update, a move to another site, a move to another region.
        await Candidate.filter(id=b.id).update(status=RETURNED)
        await Candidate.filter(id=c.id).update(site="甲")
        other = unique("计数省")
        await Candidate.filter(id=a.id).update(region=other)
        assert await kept_counts(region) == {("甲", "RETURNED"): (1, 0), ("甲", "DRAFT"): (1, 0)}
        assert await kept_counts(other) == {("甲", "APPROVED"): (1, 1)}
        # The first review cleared (never done by the service, but counted right all the same).
        await Candidate.filter(id=a.id).update(first_review_seconds=None)
        assert await kept_counts(other) == {("甲", "APPROVED"): (1, 0)}
        await Candidate.filter(id__in=[a.id, b.id]).delete()
        assert await kept_counts(region) == {("甲", "DRAFT"): (1, 0)}
        assert await kept_counts(other) == {}
        assert await kept_counts(region) == await grouped_counts(region)


class Refused(Exception):
    pass


async def test_a_rolled_back_change_leaves_the_counts_as_they_were(service: Service) -> None:
    region = unique("计数省")
    row = await make_candidate(service, region=region, site="甲", status=SUBMITTED)
    with service.db():
        before = await kept_counts(region)
        with pytest.raises(Refused):
            async with in_transaction():
                await Candidate.filter(id=row.id).update(status=APPROVED, first_review_seconds=3.0)
                await make_candidate(service, region=region, site="乙", status=SUBMITTED)
                # Inside the transaction the counts already moved with the rows.
                assert await kept_counts(region) == await grouped_counts(region) != before
                raise Refused
        assert await kept_counts(region) == before == {("甲", "SUBMITTED"): (1, 0)}
        assert await grouped_counts(region) == before


async def _waiting(url: str, count: int, not_behind: int | None = None) -> bool:
    """Whether `count` sessions wait for a lock, none of them behind session `not_behind`."""
    watcher = await asyncpg.connect(url)
    try:
        rows = await watcher.fetch(
            "SELECT pg_blocking_pids(pid) AS behind FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    finally:
        await watcher.close()
    return len(rows) >= count and all(not_behind not in row["behind"] for row in rows)


@pytest.mark.skipif(STACK != "scale", reason="row locks on the counts: PostgreSQL (SQLite has one writer)")
async def test_two_opposite_moves_at_once_do_not_deadlock(service: Service) -> None:
    """A moves a candidate 甲 → 乙 while B moves another 乙 → 甲, each inside its trigger at once.

    Two holders lock the count rows 甲 and 乙; the moves queue behind them. 甲 is let go first
    and the moves settle; then 乙. Were each move to take its old row first, A would hold 甲
    and wait for 乙 while B, first in line for 乙, takes it and waits for 甲: a deadlock. Taken
    in key order, both queue for the same first row and one simply waits for the other."""
    region = unique("计数省")
    a = await make_candidate(service, region=region, site="甲", status=SUBMITTED)
    b = await make_candidate(service, region=region, site="乙", status=SUBMITTED)
    url = service.settings.database_url
    conns = [await asyncpg.connect(url) for _ in range(4)]
    holders, (first, second) = conns[:2], conns[2:]
    try:
        held = []
        for holder, site in zip(holders, ("甲", "乙"), strict=True):
            transaction = holder.transaction()
            await transaction.start()
            await holder.execute(
                "SELECT n FROM queue_count WHERE region = $1 AND site = $2 AND status = 'SUBMITTED'"
                " FOR UPDATE", region, site,
            )
            held.append(transaction)

        async def move(conn: asyncpg.Connection, pk: int, site: str) -> None:
            async with conn.transaction():
                await conn.execute("UPDATE candidate SET site = $1 WHERE id = $2", site, pk)

        moves = asyncio.gather(move(first, a.id, "乙"), move(second, b.id, "甲"))
        await eventually(lambda: _waiting(url, 2), "both moves wait inside their triggers")
        await held[0].rollback()
        gone = holders[0].get_server_pid()
        await eventually(lambda: _waiting(url, 2, gone), "the moves settle behind the second holder")
        await held[1].rollback()
        await moves  # asyncpg raises DeadlockDetectedError here had they deadlocked
    finally:
        for conn in conns:
            await conn.close()
    with service.db():
        assert await kept_counts(region) == {("甲", "SUBMITTED"): (1, 0), ("乙", "SUBMITTED"): (1, 0)}
        assert await kept_counts(region) == await grouped_counts(region)


CANDIDATE = (
    "INSERT INTO candidate (username, password_hash, name, admission_no, exam_category_code,"
    " exam_category_name, region, site, stage, registered_at, status, queue_at, updated_at)"
    " VALUES ({}, 'x', '考生', {}, '110', '临床执业医师', '迁移省', {}, '报名', {}, {}, {}, {})"
)
AUDIT = (
    "INSERT INTO audit_entry (candidate_id, action, actor_name, from_status, to_status, at)"
    " VALUES ({}, {}, '某人', 'SUBMITTED', 'SUBMITTED', {})"
)


async def test_the_migration_backfills_counts_and_first_reviews(tmp_path: Path) -> None:
    """Rows written before 0007 (no triggers, no first-review columns) come out counted, with
    the first submission and first decision read from the audit log."""
    settings = test_settings(tmp_path)
    postgres = settings.database_url.startswith("postgres")
    async with TortoiseContext():
        await run_migrations(config=settings.tortoise_config(), target="models.0006_picture_access_log")
    t0 = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)

    def marks(count: int) -> list[str]:
        return [f"${i}" if postgres else "?" for i in range(1, count + 1)]

    def at(seconds: int) -> Any:
        moment = t0 + timedelta(seconds=seconds)
        return moment if postgres else moment.isoformat(" ")

    # name, site, status, audit (action, seconds after t0)
    plan: list[tuple[str, str, str, list[tuple[str, int]]]] = [
        ("waiting", "甲", "SUBMITTED", [("SUBMIT", 0)]),
        ("twice", "甲", "APPROVED", [("SUBMIT", 0), ("RETURN", 60), ("SUBMIT", 100), ("APPROVE", 200)]),
        ("draft", "乙", "DRAFT", []),
        ("imported", "乙", "APPROVED", [("APPROVE", 30)]),
        ("rejected", "乙", "REJECTED", [("UPLOAD", 5), ("SUBMIT", 10), ("REJECT", 1010)]),
    ]
    async with database(settings), in_transaction() as connection:
        for name, site, status, entries in plan:
            await connection.execute_query(
                CANDIDATE.format(*marks(10)), [name, name, site, at(0), status, at(0), at(0)]
            )
            _, found = await connection.execute_query(
                "SELECT id FROM candidate WHERE username = " + marks(1)[0], [name]
            )
            for action, seconds in entries:
                await connection.execute_query(
                    AUDIT.format(*marks(3)), [found[0]["id"], action, at(seconds)]
                )
    await migrate(settings)
    async with database(settings):
        rows = {c.username: c for c in await Candidate.filter(region="迁移省")}
        firsts = {name: (row.first_submitted_at, row.first_review_seconds) for name, row in rows.items()}
        assert firsts == {
            "waiting": (t0, None),
            "twice": (t0, 60.0),
            "draft": (None, None),
            "imported": (None, None),
            "rejected": (t0 + timedelta(seconds=10), 1000.0),
        }
        assert await kept_counts("迁移省") == {
            ("甲", "SUBMITTED"): (1, 0), ("甲", "APPROVED"): (1, 1),
            ("乙", "DRAFT"): (1, 0), ("乙", "APPROVED"): (1, 0), ("乙", "REJECTED"): (1, 1),
        }
        # From here the triggers keep them.
        await Candidate.filter(username="waiting").update(status=RETURNED, first_review_seconds=5.0)
        assert await kept_counts("迁移省") == await grouped_counts("迁移省")
        assert await kept_counts("迁移省") != {}

"""The candidate's row lock: every check-then-change on a candidate runs inside it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.transactions import in_transaction

from core.clock import utcnow
from core.errors import not_found
from models import Candidate


@asynccontextmanager
async def candidate_for_update(candidate_id: int) -> AsyncIterator[Candidate]:
    """A transaction holding the candidate's row lock.

    On PostgreSQL the row is locked with SELECT … FOR UPDATE. SQLite ignores FOR UPDATE and
    its transactions start deferred: one that reads first and writes later fails at once with
    "database is locked" when another process writes meanwhile. Writing first takes SQLite's
    write lock up front, where busy_timeout makes other workers wait for it instead.
    """
    async with in_transaction() as connection:
        if connection.capabilities.dialect == "sqlite":
            await Candidate.filter(id=candidate_id).update(updated_at=utcnow())
        candidate = await Candidate.select_for_update().get_or_none(id=candidate_id)
        if candidate is None:
            raise not_found("考生")
        yield candidate

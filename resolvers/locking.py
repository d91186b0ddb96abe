"""The candidate's row lock: every check-then-change on a candidate runs inside it."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.transactions import in_transaction

from core.clock import utcnow
from core.errors import not_found
from models import Candidate
from models.rows import columns, from_row


@asynccontextmanager
async def candidate_for_update(candidate_id: int) -> AsyncIterator[Candidate]:
    """A transaction holding the candidate's row lock.

    On PostgreSQL the row is locked with SELECT … FOR UPDATE. SQLite ignores FOR UPDATE and
    its transactions start deferred: one that reads first and writes later fails at once with
    "database is locked" when another process writes meanwhile. Writing first takes SQLite's
    write lock up front, where busy_timeout makes other workers wait for it instead.

    Every change a candidate makes passes here, so the statement is written by hand
    (models/rows.py): one round trip on either engine, no query building.
    """
    async with in_transaction() as connection:
        dialect = connection.capabilities.dialect
        if dialect == "sqlite":
            now = _UPDATED_AT.to_db_value(utcnow(), Candidate)
            rows = await connection.execute_query_dict(_locking_sql(dialect), [now, candidate_id])
        else:
            rows = await connection.execute_query_dict(_locking_sql(dialect), [candidate_id])
        candidate = from_row(Candidate, rows[0], "c") if rows else None
        if candidate is None:
            raise not_found("考生")
        yield candidate


_UPDATED_AT = Candidate._meta.fields_map["updated_at"]


@functools.cache
def _locking_sql(dialect: str) -> str:
    if dialect == "sqlite":
        returned = columns(Candidate, "c", qualified=False)
        return f'UPDATE "candidate" SET "updated_at" = ? WHERE "id" = ? RETURNING {returned}'
    return f'SELECT {columns(Candidate, "c")} FROM "candidate" c WHERE c."id" = $1 FOR UPDATE'

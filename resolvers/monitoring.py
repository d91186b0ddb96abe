"""What operators ask of the engines: are they answering (/readyz), and how full are the queues
(/metrics, read at scrape time)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from tortoise.connection import get_connection
from tortoise.functions import Count

from core.clock import utcnow
from core.metrics import DatabaseFigures
from models import Candidate, OutboxMessage
from models.enums import ReviewStatus
from models.notifications import OutboxStatus
from pubsub import Broker
from storage import PictureStore

log = logging.getLogger(__name__)

# Each engine must answer within this for the service to be ready.
READY_WITHIN_SECONDS = 1.0


async def _answers(part: str, check: Callable[[], Awaitable[object]]) -> str:
    """"ok", or why not in a few words (the class of the failure, never addresses or secrets)."""
    try:
        async with asyncio.timeout(READY_WITHIN_SECONDS):
            await check()
    except TimeoutError:
        log.warning("readiness: %s did not answer within %g s", part, READY_WITHIN_SECONDS)
        return f"no answer within {READY_WITHIN_SECONDS:g} s"
    except Exception as exc:
        log.warning("readiness: %s failed: %r", part, exc)
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def _database_answers() -> None:
    await get_connection("default").execute_query("SELECT 1")


async def readiness(store: PictureStore, broker: Broker) -> dict[str, str]:
    """{"database", "broker", "store"}: "ok" or the reason, each checked at the same time."""
    database, answered_broker, answered_store = await asyncio.gather(
        _answers("database", _database_answers),
        _answers("broker", broker.ping),
        _answers("store", store.ping),
    )
    return {"database": database, "broker": answered_broker, "store": answered_store}


async def database_figures() -> DatabaseFigures:
    """Candidates by status and the outbox by status: grouped counts the indexes answer."""
    by_status = await Candidate.annotate(n=Count("id")).group_by("status").values_list("status", "n")
    outbox = (
        await OutboxMessage.annotate(n=Count("id"))
        .group_by("kind", "status")
        .values_list("kind", "status", "n")
    )
    now = utcnow()
    oldest_due = (
        await OutboxMessage.filter(status=OutboxStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .limit(1)
        .values_list("next_attempt_at", flat=True)
    )
    due_since: datetime | None = oldest_due[0] if oldest_due else None  # type: ignore[assignment]
    live_claims = await Candidate.filter(
        status=ReviewStatus.SUBMITTED, claim_expires_at__gt=now
    ).count()
    return DatabaseFigures(
        candidates_by_status={str(status): int(n) for status, n in by_status},
        outbox_by_status={(str(kind), str(status)): int(n) for kind, status, n in outbox},
        outbox_oldest_due_seconds=(now - due_since).total_seconds() if due_since else 0.0,
        live_claims=live_claims,
    )

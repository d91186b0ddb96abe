"""The candidate's 消息提醒: listing, unread count, marking read, and the live feeds."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime

from models import Candidate, ReviewMessage
from models.enums import ReviewStatus, Role
from resolvers.auth import require_candidate, require_staff
from resolvers.common import candidate_topic, parse_int_id, queue_topic, utcnow
from resolvers.errors import not_found
from server.context import Context

MESSAGES_MAX = 200


async def messages_of(candidate: Candidate, first: int) -> list[ReviewMessage]:
    limit = min(max(first, 0), MESSAGES_MAX)
    if limit == 0:
        return []
    return await ReviewMessage.filter(candidate_id=candidate.id).order_by("-id").limit(limit)


async def unread_count(candidate: Candidate) -> int:
    return await ReviewMessage.filter(candidate_id=candidate.id, read_at__isnull=True).count()


async def mark_messages_read(ctx: Context, ids: list[str] | None) -> int:
    candidate = require_candidate(ctx)
    query = ReviewMessage.filter(candidate_id=candidate.id, read_at__isnull=True)
    if ids is not None:
        wanted = {parse_int_id(i) for i in ids}
        if None in wanted:
            raise not_found("消息", "ids")
        own = await ReviewMessage.filter(candidate_id=candidate.id, id__in=wanted).count()
        if own != len(wanted):
            raise not_found("消息", "ids")
        query = query.filter(id__in=wanted)
    await query.update(read_at=utcnow())
    return await unread_count(candidate)


@dataclass(frozen=True)
class ReviewEventData:
    message: ReviewMessage
    status: ReviewStatus


async def review_events(ctx: Context) -> AsyncGenerator[ReviewEventData, None]:
    candidate = require_candidate(ctx)
    async with ctx.services.broker.subscribe(candidate_topic(candidate.id)) as events:
        async for event in events:
            message = await ReviewMessage.get_or_none(
                id=event["message_id"], candidate_id=candidate.id
            )
            if message is not None:
                yield ReviewEventData(message=message, status=ReviewStatus(event["status"]))


@dataclass(frozen=True)
class QueueEventData:
    candidate: Candidate
    status: ReviewStatus
    at: datetime


async def queue_events(ctx: Context) -> AsyncGenerator[QueueEventData, None]:
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    async with ctx.services.broker.subscribe(queue_topic(staff.region)) as events:
        async for event in events:
            if staff.site is not None and event["site"] != staff.site:
                continue
            candidate = await Candidate.get_or_none(id=event["candidate_id"])
            if candidate is None or not staff.covers(candidate):
                continue
            yield QueueEventData(
                candidate=candidate,
                status=ReviewStatus(event["status"]),
                at=datetime.fromisoformat(event["at"]),
            )


"""The candidate's 消息提醒: writing, listing, unread count, marking read, and the live feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.clock import utcnow
from core.context import Context
from core.errors import not_found
from core.ids import parse_int_id
from models import Candidate, ReviewMessage, StaffUser
from models.enums import MessageKind, ReviewStatus
from pubsub import is_resubscribed
from resolvers.audit import SYSTEM_AUTHOR
from resolvers.auth import require_candidate
from resolvers.events import candidate_topic

MESSAGES_MAX = 200


async def post_message(
    candidate: Candidate,
    kind: MessageKind,
    body: str,
    author: StaffUser | None = None,
    at: datetime | None = None,
) -> ReviewMessage:
    """Write a message (inside the caller's transaction); `at` keeps it in step with the change."""
    return await ReviewMessage.create(
        candidate_id=candidate.id,
        kind=kind,
        body=body,
        author_name=author.name if author else SYSTEM_AUTHOR,
        author_staff_id=author.id if author else None,
        created_at=at or utcnow(),
    )


async def messages_of(candidate: Candidate, first: int) -> list[ReviewMessage]:
    limit = min(max(first, 0), MESSAGES_MAX)
    if limit == 0:
        return []
    return await ReviewMessage.filter(candidate_id=candidate.id).order_by("-id").limit(limit)


async def unread_count(candidate: Candidate) -> int:
    return await ReviewMessage.filter(candidate_id=candidate.id, read_at__isnull=True).count()


async def own_unread_count(ctx: Context) -> int:
    return await unread_count(require_candidate(ctx))


async def mark_messages_read(ctx: Context, ids: Sequence[str] | None) -> int:
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


# The status a message of each kind leaves behind; feedback leaves the status as it is.
_STATUS_AFTER = {
    MessageKind.SYSTEM: ReviewStatus.SUBMITTED,
    MessageKind.RETURNED: ReviewStatus.RETURNED,
    MessageKind.APPROVED: ReviewStatus.APPROVED,
    MessageKind.REJECTED: ReviewStatus.REJECTED,
}


async def _messages_after(
    candidate_id: int, last_id: int, known: dict[int, ReviewStatus] | None = None
) -> list[ReviewEventData]:
    """The candidate's messages after the last one delivered, oldest first.

    `known` gives the status an event reported for its message; the others take the status
    their kind leaves behind, or the current one.
    """
    messages = (
        await ReviewMessage.filter(candidate_id=candidate_id, id__gt=last_id)
        .order_by("id")
        .limit(MESSAGES_MAX)
    )
    if not messages:
        return []
    current = (await Candidate.get(id=candidate_id)).status
    known = known or {}
    return [
        ReviewEventData(
            message=m, status=known.get(m.id) or _STATUS_AFTER.get(m.kind) or current
        )
        for m in messages
    ]


async def review_events(ctx: Context) -> AsyncGenerator[ReviewEventData, None]:
    """Every message written after the subscription starts, once, in id order.

    The broker delivers at most once and, with several workers, not necessarily in commit
    order: two messages committed one after the other may be published by two processes in
    the opposite order. So an event is only a wake-up call: each one (and each broker
    reconnect) reads every message after the last one delivered from the database. Messages
    of one candidate are written under the candidate's row lock, so ids grow in commit order.
    """
    candidate = require_candidate(ctx)
    newest = await ReviewMessage.filter(candidate_id=candidate.id).order_by("-id").first()
    last_id = newest.id if newest is not None else 0
    async with ctx.services.broker.subscribe(candidate_topic(candidate.id)) as events:
        for data in await _messages_after(candidate.id, last_id):
            last_id = data.message.id
            yield data
        async for event in events:
            known: dict[int, ReviewStatus] = {}
            if not is_resubscribed(event):
                message_id = event.get("message_id")
                if not isinstance(message_id, int) or message_id <= last_id:
                    continue
                known[message_id] = ReviewStatus(event["status"])
            for data in await _messages_after(candidate.id, last_id, known):
                last_id = data.message.id
                yield data

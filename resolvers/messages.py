"""The candidate's 消息提醒: writing, listing, unread count, marking read, and the live feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Max

from core.clock import utcnow
from core.context import Context, Services
from core.errors import not_found
from core.ids import parse_int_id
from models import Candidate, ReviewMessage, StaffUser
from models.enums import MessageKind, ReviewStatus
from pubsub import Event, is_resubscribed
from resolvers.audit import SYSTEM_AUTHOR
from resolvers.auth import require_candidate
from resolvers.events import candidate_topic

MESSAGES_MAX = 200


@dataclass(frozen=True)
class Posted:
    message: ReviewMessage
    # The candidate's message just before it (0 for the first): pages that showed that one
    # show this one from the event alone, without reading.
    previous_id: int


async def post_message(
    candidate: Candidate,
    kind: MessageKind,
    body: str,
    author: StaffUser | None = None,
    at: datetime | None = None,
) -> Posted:
    """Write a message inside the caller's transaction, which holds the candidate's row lock
    (so no other message of theirs can come between); `at` keeps it in step with the change."""
    newest = await ReviewMessage.filter(candidate_id=candidate.id).order_by("-id").first()
    message = await ReviewMessage.create(
        candidate_id=candidate.id,
        kind=kind,
        body=body,
        author_name=author.name if author else SYSTEM_AUTHOR,
        author_staff_id=author.id if author else None,
        created_at=at or utcnow(),
    )
    return Posted(message, newest.id if newest is not None else 0)


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


async def _newest_message_ids(candidate_ids: list[int]) -> dict[int, int]:
    rows = (
        await ReviewMessage.filter(candidate_id__in=candidate_ids)
        .group_by("candidate_id")
        .annotate(newest=Max("id"))
        .values_list("candidate_id", "newest")
    )
    return {int(candidate_id): int(newest) for candidate_id, newest in rows}


async def newest_message_id(services: Services, candidate_id: int) -> int:
    """The candidate's newest message id (0 for none), read together with the other pages
    opening at the same moment: one query for a whole reconnect storm's turn."""
    batcher = services.batcher("newest-message-id", _newest_message_ids)
    return await batcher.get(candidate_id) or 0


def _carried(event: Event, candidate_id: int, last_id: int) -> ReviewEventData | None:
    """The message an event carries, when it is the very next one after `last_id`."""
    carried = event.get("message")
    if event.get("previous_id") != last_id or not isinstance(carried, dict):
        return None
    try:
        message = ReviewMessage(
            id=int(event["message_id"]),
            candidate_id=candidate_id,
            kind=MessageKind(carried["kind"]),
            body=str(carried["body"]),
            author_name=str(carried["author_name"]),
            author_staff_id=carried.get("author_staff_id"),
            created_at=datetime.fromisoformat(carried["created_at"]),
            read_at=None,
        )
        return ReviewEventData(message=message, status=ReviewStatus(event["status"]))
    except (KeyError, TypeError, ValueError):
        return None


async def review_events(ctx: Context) -> AsyncGenerator[ReviewEventData, None]:
    """Every message written after the subscription starts, once, in id order.

    It listens first and then reads the newest message id (batched with the other pages
    opening at once): a message committed after that read is published after it, so its
    event arrives; one committed before it is older than the subscription.

    The broker delivers at most once and, with several workers, not necessarily in commit
    order: two messages committed one after the other may be published by two processes in
    the opposite order. An event carries its message and the id of the message before it; when
    that is the last one delivered, the message is shown as carried, with no database read.
    Otherwise something was missed (or overtaken), and every message after the last one
    delivered is read from the database; so is it after a broker reconnect. Messages of one
    candidate are written under the candidate's row lock, so ids grow in commit order.
    """
    candidate = require_candidate(ctx)
    async with ctx.services.broker.subscribe(candidate_topic(candidate.id)) as events:
        last_id = await newest_message_id(ctx.services, candidate.id)
        async for event in events:
            if is_resubscribed(event):
                news = await _messages_after(candidate.id, last_id)
            else:
                message_id = event.get("message_id")
                if not isinstance(message_id, int) or message_id <= last_id:
                    continue
                carried = _carried(event, candidate.id, last_id)
                if carried is not None:
                    news = [carried]
                else:
                    known = {message_id: ReviewStatus(event["status"])}
                    news = await _messages_after(candidate.id, last_id, known)
            for data in news:
                last_id = data.message.id
                yield data

"""The examiners' queue: who waits in their scope, in what order, how many, and live changes."""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Sum

from core.clock import utcnow
from core.context import Context
from core.errors import BadArgument
from core.scope import Scope
from models import AuditEntry, Candidate, QueueCount
from models.enums import AuditAction, ReviewStatus, Role
from pubsub import is_resubscribed
from resolvers.auth import require_scope
from resolvers.events import queue_topic

DECISIONS = (AuditAction.RETURN, AuditAction.APPROVE, AuditAction.REJECT)


@dataclass(frozen=True)
class QueuePage:
    candidates: list[Candidate]
    cursors: list[str]
    has_next_page: bool
    total_count: int


def _cursor(candidate: Candidate, by_deadline: bool = False) -> str:
    moment = candidate.reply_deadline if by_deadline and candidate.reply_deadline else candidate.queue_at
    raw = f"{moment.isoformat()}|{candidate.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        when, number = datetime.fromisoformat(moment), int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadArgument("after 不是有效的分页游标。") from exc
    # Our cursors carry an aware time and a row id; anything else is forged.
    if when.tzinfo is None or not 0 <= number < 2**63:
        raise BadArgument("after 不是有效的分页游标。")
    return when, number


async def review_queue(
    ctx: Context,
    statuses: list[ReviewStatus] | None,
    site: str | None,
    search: str | None,
    first: int,
    after: str | None,
    overdue: bool = False,
    by_deadline: bool = False,
) -> QueuePage:
    """Keyset pagination in the database: oldest submission first (or earliest deadline), then id.

    `overdue` keeps returns whose reply deadline has passed; `by_deadline` orders by the deadline
    and keeps only candidates that have one (those under a return).
    """
    scope = require_scope(ctx, Role.EXAMINER, Role.ADMIN)
    if first < 1 or first > 100:
        raise BadArgument("first 应在 1 到 100 之间。")
    default = [ReviewStatus.RETURNED] if overdue or by_deadline else [ReviewStatus.SUBMITTED]
    query = Candidate.filter(scope.filter(), status__in=statuses or default)
    if overdue:
        query = query.filter(status=ReviewStatus.RETURNED, reply_deadline__lt=utcnow())
    key = "reply_deadline" if by_deadline else "queue_at"
    if by_deadline:
        query = query.filter(reply_deadline__isnull=False)
    if site:
        query = query.filter(site=site)
    if search and search.strip():
        text = search.strip()
        query = query.filter(
            Q(name__icontains=text) | Q(admission_no__icontains=text) | Q(username__icontains=text)
        )
    if overdue or by_deadline or (search and search.strip()):
        total = await query.count()
    else:
        # Scope and status only: the triggers' counts, a few rows instead of an index scan.
        total = await _counted(scope, statuses or default, site)
    if after:
        moment, pk = _read_cursor(after)
        later: dict[str, Any] = {f"{key}__gt": moment}
        same: dict[str, Any] = {key: moment, "id__gt": pk}
        # The leading bound (implied by the OR) lets the index start at the cursor: page 500
        # then costs what page 1 does instead of walking the 10,000 rows before it.
        bound: dict[str, Any] = {f"{key}__gte": moment}
        query = query.filter(Q(**bound), Q(**later) | Q(**same))
    rows = await query.order_by(key, "id").limit(first + 1)
    page = rows[:first]
    return QueuePage(
        candidates=page,
        cursors=[_cursor(c, by_deadline) for c in page],
        has_next_page=len(rows) > first,
        total_count=total,
    )


async def _counted(scope: Scope, statuses: list[ReviewStatus], site: str | None = None) -> int:
    """How many candidates of these statuses the scope (and site, if named) holds."""
    query = QueueCount.filter(scope.filter(), status__in=statuses)
    if site:
        query = query.filter(site=site)
    row = await query.annotate(total=Sum("n")).first().values("total")
    return int(row["total"] or 0) if row else 0


@dataclass(frozen=True)
class ReviewStats:
    region: str
    site: str | None
    counts: dict[ReviewStatus, int]
    oldest_waiting_submitted_at: datetime | None
    overdue_returns: int
    median_first_review_seconds: float | None
    reviewed_count: int


async def review_stats(ctx: Context, region: str | None, site: str | None) -> ReviewStats | None:
    """Counts per status, the oldest waiting submission, median time to the first decision.

    Defaults to the caller's own scope; a region or site outside it looks absent (null).
    """
    area = require_scope(ctx, Role.EXAMINER, Role.ADMIN).narrowed(region, site)
    if area is None:
        return None
    rows = (
        await QueueCount.filter(area.filter())
        .annotate(n=Sum("n"), reviewed=Sum("reviewed"))
        .group_by("status")
        .values_list("status", "n", "reviewed")
    )
    counts = {status: 0 for status in ReviewStatus}
    reviewed = 0
    for status, n, first_reviews in rows:
        counts[ReviewStatus(status)] = int(n or 0)
        reviewed += int(first_reviews or 0)
    oldest = (
        await Candidate.filter(area.filter(), status=ReviewStatus.SUBMITTED)
        .order_by("queue_at", "id")
        .first()
    )
    overdue = await Candidate.filter(
        area.filter(), status=ReviewStatus.RETURNED, reply_deadline__lt=utcnow()
    ).count()
    return ReviewStats(
        region=area.region,
        site=area.site,
        counts=counts,
        oldest_waiting_submitted_at=oldest.queue_at if oldest is not None else None,
        overdue_returns=overdue,
        median_first_review_seconds=await _median_first_review(area, reviewed),
        reviewed_count=reviewed,
    )


async def _median_first_review(area: Scope, reviewed: int) -> float | None:
    """The median of the seconds from first submission to first decision, read at the middle
    of the index (scope, first_review_seconds): one or two rows, never the whole range."""
    if reviewed < 1:
        return None
    middle = await (
        Candidate.filter(area.filter(), first_review_seconds__isnull=False)
        .order_by("first_review_seconds")
        .offset((reviewed - 1) // 2)
        .limit(1 if reviewed % 2 else 2)
        .values("first_review_seconds")
    )
    values = [float(v["first_review_seconds"]) for v in middle]
    return sum(values) / len(values) if values else None
@dataclass(frozen=True)
class QueueEventData:
    candidate: Candidate
    status: ReviewStatus
    at: datetime


async def queue_events(ctx: Context) -> AsyncGenerator[QueueEventData, None]:
    """Candidates entering or leaving the queue in the caller's scope, as they happen."""
    scope: Scope = require_scope(ctx, Role.EXAMINER, Role.ADMIN)
    async with ctx.services.broker.subscribe(queue_topic(scope.region)) as events:
        async for event in events:
            if is_resubscribed(event):
                continue
            # The event names region and site: skip what is out of scope without a read.
            if not scope.covers_area(str(event.get("region")), str(event.get("site"))):
                continue
            candidate = await Candidate.get_or_none(id=event["candidate_id"])
            if candidate is None or not scope.covers(candidate):
                continue
            yield QueueEventData(
                candidate=candidate,
                status=ReviewStatus(event["status"]),
                at=datetime.fromisoformat(event["at"]),
            )


# Where a submitted candidate stands ---------------------------------------------------------

PACE_WINDOW = timedelta(hours=6)


@dataclass(frozen=True)
class QueuePosition:
    ahead: int
    estimated_review_by: datetime | None


async def queue_position(candidate: Candidate) -> QueuePosition | None:
    """While SUBMITTED: how many of the same region and site, submitted earlier, still wait
    (claimed or not), and when review is likely at the site's pace of the last six hours.

    Both are index ranges: (region, site, status, queue_at, id) on candidates, and
    (region, site, action, at) on the audit log.
    """
    if candidate.status != ReviewStatus.SUBMITTED:
        return None
    moment = candidate.queue_at
    ahead = await Candidate.filter(
        Q(queue_at__lt=moment) | Q(queue_at=moment, id__lt=candidate.id),
        region=candidate.region,
        site=candidate.site,
        status=ReviewStatus.SUBMITTED,
        queue_at__lte=moment,  # the index's range; the OR alone gives it no start
    ).count()
    now = utcnow()
    decisions = await AuditEntry.filter(
        region=candidate.region,
        site=candidate.site,
        action__in=DECISIONS,
        at__gte=now - PACE_WINDOW,
    ).count()
    if not decisions:
        return QueuePosition(ahead, None)
    # Those ahead and then this candidate, at the site's pace; promised to the minute after.
    wait = PACE_WINDOW * (ahead + 1) / decisions
    estimate = now + wait
    if estimate.second or estimate.microsecond:
        estimate = estimate.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return QueuePosition(ahead, estimate)

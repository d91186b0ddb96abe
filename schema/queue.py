"""The examiners' queue: paging through it, its figures, and its live changes."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from core.context import Context
from resolvers import queue
from schema.candidates import Candidate
from schema.enums import ReviewStatus
from schema.permissions import IsStaff


@strawberry.enum(description="Order of reviewQueue.")
class QueueOrder(Enum):
    SUBMITTED_AT = "SUBMITTED_AT"
    REPLY_DEADLINE = "REPLY_DEADLINE"


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class CandidateEdge:
    cursor: str
    node: Candidate


@strawberry.type
class CandidateConnection:
    edges: list[CandidateEdge]
    page_info: PageInfo
    total_count: int


@strawberry.type
class StatusCount:
    status: ReviewStatus
    count: int


@strawberry.type(description="Workload of a region (and site).")
class ReviewStats:
    region: str
    site: str | None
    counts: list[StatusCount]
    oldest_waiting_submitted_at: datetime | None
    overdue_returns: int
    median_first_review_seconds: float | None = strawberry.field(
        description="Median time from the first 提交审核 to the first decision."
    )
    reviewed_count: int


@strawberry.type(
    description="Pushed to examiners when a candidate in their scope enters or leaves the queue."
)
class QueueEvent:
    candidate: Candidate
    status: ReviewStatus
    at: datetime


@strawberry.type
class QueueQuery:
    @strawberry.field(
        description="Candidates in the examiner's scope, oldest submission first (EXAMINER, ADMIN).",
        permission_classes=[IsStaff],
    )
    async def review_queue(
        self,
        info: Info[Context, Any],
        status: list[ReviewStatus] | None = None,
        site: str | None = None,
        search: str | None = None,
        first: int | None = 20,
        after: str | None = None,
        overdue: Annotated[
            bool, strawberry.argument(description="Only returns whose reply deadline has passed.")
        ] = False,
        order_by: Annotated[
            QueueOrder,
            strawberry.argument(
                description="REPLY_DEADLINE: earliest deadline first, only candidates under a return."
            ),
        ] = QueueOrder.SUBMITTED_AT,
    ) -> CandidateConnection:
        page = await queue.review_queue(
            info.context, status, site, search, 20 if first is None else first, after,
            overdue=overdue, by_deadline=order_by == QueueOrder.REPLY_DEADLINE,
        )
        edges = [
            CandidateEdge(cursor=cursor, node=Candidate(row=row))
            for row, cursor in zip(page.candidates, page.cursors, strict=True)
        ]
        return CandidateConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            total_count=page.total_count,
        )

    @strawberry.field(
        description="Counts per status, oldest waiting submission, median time to first review; the caller's scope by default, null outside it.",
        permission_classes=[IsStaff],
    )
    async def review_stats(
        self, info: Info[Context, Any], region: str | None = None, site: str | None = None
    ) -> ReviewStats | None:
        stats = await queue.review_stats(info.context, region, site)
        if stats is None:
            return None
        return ReviewStats(
            region=stats.region,
            site=stats.site,
            counts=[StatusCount(status=s, count=n) for s, n in stats.counts.items()],
            oldest_waiting_submitted_at=stats.oldest_waiting_submitted_at,
            overdue_returns=stats.overdue_returns,
            median_first_review_seconds=stats.median_first_review_seconds,
            reviewed_count=stats.reviewed_count,
        )


@strawberry.type
class QueueSubscription:
    @strawberry.subscription(
        description="Candidates entering or leaving the review queue in the examiner's scope, live (EXAMINER).",
        permission_classes=[IsStaff],
    )
    async def queue_events(self, info: Info[Context, Any]) -> AsyncGenerator[QueueEvent, None]:
        async for event in queue.queue_events(info.context):
            yield QueueEvent(candidate=Candidate(row=event.candidate), status=event.status, at=event.at)

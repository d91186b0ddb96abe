"""What examiners look back on: a candidate's history from the audit log, and workload figures."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q
from tortoise.functions import Count

from models import AuditEntry, Candidate
from models.enums import AuditAction, ReviewStatus, Role
from resolvers.auth import require_staff
from resolvers.common import utcnow
from server.context import Context

DECISIONS = (AuditAction.RETURN, AuditAction.APPROVE, AuditAction.REJECT)


async def history_of(ctx: Context, candidate: Candidate) -> list[AuditEntry]:
    """Every audit entry of the candidate, oldest first (EXAMINER, ADMIN)."""
    require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    return await AuditEntry.filter(candidate_id=candidate.id).order_by("id")


@dataclass(frozen=True)
class ReviewStats:
    region: str
    site: str | None
    counts: dict[ReviewStatus, int]
    oldest_waiting_submitted_at: datetime | None
    overdue_returns: int
    median_first_review_seconds: float | None
    reviewed_count: int


def _scope(region: str, site: str | None) -> Q:
    query = Q() if region == "*" else Q(region=region)
    return query & Q(site=site) if site else query


async def review_stats(ctx: Context, region: str | None, site: str | None) -> ReviewStats | None:
    """Counts per status, the oldest waiting submission, median time to the first decision.

    Defaults to the caller's own scope; a region or site outside it looks absent (null).
    """
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    region = (region or "").strip() or staff.region
    site = (site or "").strip() or staff.site
    if staff.region != "*" and region != staff.region:
        return None
    if staff.site is not None and site != staff.site:
        return None
    scope = _scope(region, site)
    rows = (
        await Candidate.filter(scope)
        .annotate(n=Count("id"))
        .group_by("status")
        .values_list("status", "n")
    )
    counts = {status: 0 for status in ReviewStatus}
    for status, n in rows:
        counts[ReviewStatus(status)] = n
    oldest = (
        await Candidate.filter(scope, status=ReviewStatus.SUBMITTED)
        .order_by("queue_at", "id")
        .first()
        .values_list("queue_at", flat=True)
    )
    overdue = await Candidate.filter(
        scope, status=ReviewStatus.RETURNED, reply_deadline__lt=utcnow()
    ).count()
    candidate_scope = Q() if region == "*" else Q(candidate__region=region)
    if site:
        candidate_scope &= Q(candidate__site=site)
    entries = (
        await AuditEntry.filter(
            candidate_scope, action__in=[AuditAction.SUBMIT, *DECISIONS]
        )
        .order_by("id")
        .values_list("candidate_id", "action", "at")
    )
    first_submit: dict[int, datetime] = {}
    waits: dict[int, float] = {}
    for candidate_id, action, at in entries:
        if action == AuditAction.SUBMIT:
            first_submit.setdefault(candidate_id, at)
        elif candidate_id in first_submit and candidate_id not in waits:
            waits[candidate_id] = (at - first_submit[candidate_id]).total_seconds()
    median = statistics.median(waits.values()) if waits else None
    return ReviewStats(
        region=region,
        site=site,
        counts=counts,
        oldest_waiting_submitted_at=oldest,  # type: ignore[arg-type]
        overdue_returns=overdue,
        median_first_review_seconds=median,
        reviewed_count=len(waits),
    )

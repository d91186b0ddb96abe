"""resolvers/history.py review_stats: counts per status, oldest waiting, median to first review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models import AuditEntry
from models.enums import AuditAction, ReviewStatus
from tests.helpers.accounts import signed_in
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.service import Service

STATS = """
query($region: String, $site: String) { reviewStats(region: $region, site: $site) {
  region site counts { status count } oldestWaitingSubmittedAt overdueReturns
  medianFirstReviewSeconds reviewedCount } }
"""


async def test_review_stats_of_a_region_and_a_site(service: Service) -> None:
    region = unique("统计省")
    t0 = datetime(2026, 4, 1, 1, 0, tzinfo=UTC)
    plan = [
        # status, site, first submit offset, first decision offset (seconds)
        (ReviewStatus.RETURNED, "济南", 0, 60),
        (ReviewStatus.APPROVED, "济南", 0, 180),
        (ReviewStatus.REJECTED, "青岛", 10, 1010),
        (ReviewStatus.SUBMITTED, "济南", 300, None),
        (ReviewStatus.SUBMITTED, "青岛", 200, None),
        (ReviewStatus.DRAFT, "济南", None, None),
    ]
    for status, site, submit, decide in plan:
        extra: dict[str, Any] = {}
        if status == ReviewStatus.RETURNED:
            extra = {"reply_deadline": datetime.now(UTC) - timedelta(hours=1)}
        queue_at = t0 + timedelta(seconds=submit or 0)
        row = await make_candidate(service, region=region, site=site, status=status, queue_at=queue_at, **extra)
        with service.db():
            if submit is not None:
                await AuditEntry.create(
                    candidate_id=row.id, action=AuditAction.SUBMIT, actor_name=row.name,
                    from_status=ReviewStatus.DRAFT, to_status=ReviewStatus.SUBMITTED, at=queue_at,
                )
            if decide is not None:
                await AuditEntry.create(
                    candidate_id=row.id, action=AuditAction.RETURN, actor_name="审核员",
                    from_status=ReviewStatus.SUBMITTED, to_status=ReviewStatus.RETURNED,
                    at=t0 + timedelta(seconds=decide),
                )
    admin_row = await make_staff(service, region=region, site=None)
    examiner = await signed_in(service, admin_row.username)
    stats = (await examiner.execute(STATS, {})).payload("reviewStats")
    counts = {c["status"]: c["count"] for c in stats["counts"]}
    assert counts == {"DRAFT": 1, "SUBMITTED": 2, "RETURNED": 1, "APPROVED": 1, "REJECTED": 1}
    assert stats["region"] == region and stats["site"] is None
    assert datetime.fromisoformat(stats["oldestWaitingSubmittedAt"]) == t0 + timedelta(seconds=200)
    assert stats["overdueReturns"] == 1
    assert stats["reviewedCount"] == 3 and stats["medianFirstReviewSeconds"] == 180.0

    jinan = (await examiner.execute(STATS, {"site": "济南"})).payload("reviewStats")
    assert {c["status"]: c["count"] for c in jinan["counts"]}["SUBMITTED"] == 1
    assert jinan["medianFirstReviewSeconds"] == 120.0
    assert datetime.fromisoformat(jinan["oldestWaitingSubmittedAt"]) == t0 + timedelta(seconds=300)

    # Outside the caller's scope looks absent; a site examiner is held to their site.
    assert (await examiner.execute(STATS, {"region": "别的省"})).data == {"reviewStats": None}
    site_staff = await make_staff(service, region=region, site="青岛")
    site_examiner = await signed_in(service, site_staff.username)
    own = (await site_examiner.execute(STATS, {})).payload("reviewStats")
    assert own["site"] == "青岛" and own["reviewedCount"] == 1
    assert (await site_examiner.execute(STATS, {"site": "济南"})).data == {"reviewStats": None}
    for client in (examiner, site_examiner):
        await client.aclose()

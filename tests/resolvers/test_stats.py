"""resolvers/queue.py review_stats: counts per status, oldest waiting, median to first review."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from models import Candidate
from models.enums import ReviewStatus
from tests.helpers.accounts import candidate_signed_in, signed_in
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.flows import examiner_of, fill_required, return_candidate, submit
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
    for status, site, submitted, decide in plan:
        extra: dict[str, Any] = {}
        if status == ReviewStatus.RETURNED:
            extra = {"reply_deadline": datetime.now(UTC) - timedelta(hours=1)}
        if submitted is not None:
            extra["first_submitted_at"] = t0 + timedelta(seconds=submitted)
        if decide is not None:
            extra["first_review_seconds"] = float(decide - (submitted or 0))
        queue_at = t0 + timedelta(seconds=submitted or 0)
        await make_candidate(service, region=region, site=site, status=status, queue_at=queue_at, **extra)
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


async def test_medians_over_an_even_count_and_a_fresh_scope(service: Service) -> None:
    region = unique("统计省")
    for seconds in (40.0, 10.0, 30.0, 20.0):
        await make_candidate(
            service, region=region, site="甲", status=ReviewStatus.APPROVED,
            first_submitted_at=datetime(2026, 4, 1, tzinfo=UTC), first_review_seconds=seconds,
        )
    admin = await signed_in(service, (await make_staff(service, region=region, site=None)).username)
    stats = (await admin.execute(STATS, {})).payload("reviewStats")
    assert stats["reviewedCount"] == 4 and stats["medianFirstReviewSeconds"] == 25.0
    empty = (await admin.execute(STATS, {"site": "乙"})).payload("reviewStats")
    assert empty["reviewedCount"] == 0 and empty["medianFirstReviewSeconds"] is None
    assert {c["count"] for c in empty["counts"]} == {0}
    await admin.aclose()


async def test_first_submission_and_first_review_are_set_once(
    service: Service, categories: dict[str, Any]
) -> None:
    region = unique("统计省")
    signed = await candidate_signed_in(service, region=region, site="济南")
    examiner = await examiner_of(service, region=region, site="济南")
    await fill_required(signed.client)
    await submit(signed.client)
    with service.db():
        first = await Candidate.get(id=signed.row.id)
    assert first.first_submitted_at is not None and first.first_review_seconds is None
    await return_candidate(examiner, signed.row.id, None)
    with service.db():
        returned = await Candidate.get(id=signed.row.id)
    assert returned.first_submitted_at == first.first_submitted_at
    assert returned.first_review_seconds is not None and returned.returned_at is not None
    assert returned.first_review_seconds == (returned.returned_at - first.first_submitted_at).total_seconds()
    # Resubmitting and a second decision move neither.
    await submit(signed.client)
    await return_candidate(examiner, signed.row.id, None)
    with service.db():
        again = await Candidate.get(id=signed.row.id)
    assert again.first_submitted_at == first.first_submitted_at
    assert again.first_review_seconds == returned.first_review_seconds
    assert again.submitted_at is not None and again.submitted_at > first.first_submitted_at
    stats = (await examiner.execute(STATS, {})).payload("reviewStats")
    assert stats["reviewedCount"] == 1
    assert stats["medianFirstReviewSeconds"] == returned.first_review_seconds
    for client in (signed.client, examiner):
        await client.aclose()

"""The triggers' counts of a region next to a GROUP BY of its candidates, to compare them."""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.functions import Count

from models import Candidate, QueueCount

Counts = dict[tuple[str, str], tuple[int, int]]


async def kept_counts(region: str) -> Counts:
    """(site, status) -> (candidates, of them first-reviewed) as queue_count holds them."""
    rows = await QueueCount.filter(Q(n__not=0) | Q(reviewed__not=0), region=region).values_list(
        "site", "status", "n", "reviewed"
    )
    return {(site, str(status)): (n, reviewed) for site, status, n, reviewed in rows}


async def grouped_counts(region: str) -> Counts:
    """The same, counted from the candidate rows themselves."""
    rows = (
        await Candidate.filter(region=region)
        .annotate(n=Count("id"), reviewed=Count("first_review_seconds"))
        .group_by("site", "status")
        .values_list("site", "status", "n", "reviewed")
    )
    return {(site, str(status)): (n, reviewed) for site, status, n, reviewed in rows}

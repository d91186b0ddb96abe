"""Review results for integrations: one row per candidate of a region (and site)."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TextIO

from models import AuditEntry, Candidate
from models.enums import AuditAction

RESULT_FIELDS = (
    "admission_no",
    "username",
    "name",
    "exam_category_code",
    "exam_category_name",
    "region",
    "site",
    "status",
    "submitted_at",
    "decided_at",
    "decided_by",
    "note",
)
FINAL = (AuditAction.APPROVE, AuditAction.REJECT)
BATCH = 500


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""


async def result_rows(region: str, site: str | None = None) -> AsyncIterator[dict[str, str]]:
    """Rows in admission-number order, read in batches so a whole region never sits in memory."""
    query = Candidate.filter(region=region)
    if site:
        query = query.filter(site=site)
    last = ""
    while True:
        batch = await query.filter(admission_no__gt=last).order_by("admission_no").limit(BATCH)
        if not batch:
            return
        decisions: dict[int, AuditEntry] = {}
        for entry in await AuditEntry.filter(
            candidate_id__in=[c.id for c in batch], action__in=FINAL
        ).order_by("id"):
            decisions[entry.candidate_id] = entry
        for candidate in batch:
            decision = decisions.get(candidate.id)
            yield {
                "admission_no": candidate.admission_no,
                "username": candidate.username,
                "name": candidate.name,
                "exam_category_code": candidate.exam_category_code,
                "exam_category_name": candidate.exam_category_name,
                "region": candidate.region,
                "site": candidate.site,
                "status": candidate.status.value,
                "submitted_at": _iso(candidate.submitted_at),
                "decided_at": _iso(decision.at if decision else None),
                "decided_by": decision.actor_name if decision else "",
                "note": (decision.note or "") if decision else "",
            }
        last = batch[-1].admission_no


async def export_results(region: str, site: str | None, fmt: str, out: TextIO) -> int:
    """Write csv (with a header) or jsonl to `out`; returns the number of rows."""
    if fmt not in ("csv", "jsonl"):
        raise ValueError(f"unknown format {fmt!r}: csv or jsonl")
    writer = csv.DictWriter(out, fieldnames=RESULT_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    count = 0
    async for row in result_rows(region, site):
        if writer is not None:
            writer.writerow(row)
        else:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count

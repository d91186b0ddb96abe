"""What examiners look back on: the audit log, and what changed since the last return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.context import Context
from models import Attachment, AuditEntry, Candidate
from models.enums import AuditAction, Role
from resolvers.auth import require_staff


async def history_of(ctx: Context, candidate: Candidate) -> list[AuditEntry]:
    """Every audit entry of the candidate, oldest first (EXAMINER, ADMIN)."""
    require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    return await AuditEntry.filter(candidate_id=candidate.id).order_by("id")


@dataclass(frozen=True)
class ReviewChanges:
    since: datetime
    added: list[Attachment]
    removed_count: int


async def changes_since_last_return(ctx: Context, candidate: Candidate) -> ReviewChanges | None:
    """Pictures added (or put in place of deleted ones) since the last return; None before one."""
    require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    if candidate.returned_at is None:
        return None
    entries = await AuditEntry.filter(
        candidate_id=candidate.id,
        action__in=[AuditAction.UPLOAD, AuditAction.DELETE],
        at__gt=candidate.returned_at,
    ).order_by("id")
    uploaded = [e.attachment_id for e in entries if e.action == AuditAction.UPLOAD]
    deleted = {e.attachment_id for e in entries if e.action == AuditAction.DELETE}
    # A picture uploaded and deleted again within the window was never seen by an examiner.
    removed = len(deleted - set(uploaded))
    current = {
        str(a.id): a
        for a in await Attachment.filter(candidate_id=candidate.id, id__in=[u for u in uploaded if u])
    }
    added = [current[u] for u in uploaded if u in current]
    return ReviewChanges(since=candidate.returned_at, added=added, removed_count=removed)

"""The append-only audit log: one entry per change, written in the change's transaction."""

from __future__ import annotations

from core.clock import utcnow
from core.context import Viewer
from models import AuditEntry, Candidate, StaffUser
from models.enums import AuditAction, ReviewStatus

SYSTEM_AUTHOR = "系统"


async def write_audit(
    candidate: Candidate,
    action: AuditAction,
    actor: Viewer | StaffUser | None,
    from_status: ReviewStatus,
    to_status: ReviewStatus | None = None,
    note: str | None = None,
    attachment_id: str | None = None,
) -> AuditEntry:
    actor_id: int | None
    if isinstance(actor, StaffUser):
        role, actor_id, name = actor.role, actor.id, actor.name
    elif isinstance(actor, Viewer):
        role = actor.role
        actor_id = actor.staff.id if actor.staff else actor.candidate.id if actor.candidate else None
        name = actor.display_name
    else:
        role, actor_id, name = None, None, SYSTEM_AUTHOR
    return await AuditEntry.create(
        candidate_id=candidate.id,
        action=action,
        actor_role=role,
        actor_id=actor_id,
        actor_name=name,
        from_status=from_status,
        to_status=to_status or from_status,
        note=note,
        attachment_id=attachment_id,
        at=utcnow(),
        region=candidate.region,
        site=candidate.site,
    )

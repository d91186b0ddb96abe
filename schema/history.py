"""What examiners look back on: the audit log and the changes since the last return."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import AuditEntry as AuditRow
from models.enums import AuditAction
from schema.enums import ReviewStatus, Role
from schema.materials import Attachment

strawberry.enum(AuditAction)


@strawberry.type(description="One entry of the audit log: a transition, a verdict, an upload, …")
class HistoryEntry:
    row: strawberry.Private[AuditRow]

    @strawberry.field
    def at(self) -> datetime:
        return self.row.at

    @strawberry.field
    def action(self) -> AuditAction:
        return self.row.action

    @strawberry.field
    def actor_role(self) -> Role | None:
        return self.row.actor_role

    @strawberry.field(description="Who acted, or 系统.")
    def actor_name(self) -> str:
        return self.row.actor_name

    @strawberry.field
    def from_status(self) -> ReviewStatus:
        return self.row.from_status

    @strawberry.field
    def to_status(self) -> ReviewStatus:
        return self.row.to_status

    @strawberry.field
    def note(self) -> str | None:
        return self.row.note

    @strawberry.field
    def attachment_id(self) -> strawberry.ID | None:
        return strawberry.ID(self.row.attachment_id) if self.row.attachment_id else None


@strawberry.type(description="Pictures added since the last return (new ones and replacements).")
class ReviewChanges:
    since: datetime
    added: list[Attachment]
    removed_count: int = strawberry.field(description="Pictures deleted since the return.")

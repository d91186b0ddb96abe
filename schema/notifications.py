"""The examiner's side in depth: SMS state, reasons, return drafts, history, workload."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from models import AuditEntry as AuditRow
from models import OutboxMessage as OutboxRow
from models.enums import AuditAction, Role
from models.notifications import OutboxStatus
from resolvers import history, verdicts
from schema.enums import ReviewStatus
from schema.materials import Attachment
from schema.permissions import IsStaff
from server.context import Context

strawberry.enum(OutboxStatus, name="SmsStatus", description="QUEUED until sent, then SENT, FAILED (after the last retry) or DROPPED (read on the page while held).")
strawberry.enum(AuditAction)


@strawberry.enum(description="Order of reviewQueue.")
class QueueOrder(Enum):
    SUBMITTED_AT = "SUBMITTED_AT"
    REPLY_DEADLINE = "REPLY_DEADLINE"


@strawberry.type(description="The SMS that tells the candidate of a message (several messages may share one).")
class SmsState:
    row: strawberry.Private[OutboxRow]

    @strawberry.field
    def status(self) -> OutboxStatus:
        return self.row.status

    @strawberry.field
    def queued_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When the next attempt is due (while QUEUED).")
    def next_attempt_at(self) -> datetime | None:
        return self.row.next_attempt_at if self.row.status == OutboxStatus.QUEUED else None

    @strawberry.field
    def sent_at(self) -> datetime | None:
        return self.row.sent_at

    @strawberry.field
    def failed_at(self) -> datetime | None:
        return self.row.failed_at

    @strawberry.field
    def attempts(self) -> int:
        return self.row.attempts

    @strawberry.field(description="The gateway's last error; null for candidates.")
    def last_error(self, info: Info[Context, Any]) -> str | None:
        viewer = info.context.viewer
        return self.row.last_error if viewer is not None and viewer.staff is not None else None


@strawberry.type(description="A reason an examiner may give for a picture's verdict.")
class VerdictReason:
    code: str
    label: str


@strawberry.type(description="The return message composed from the pictures marked NEEDS_REPLACEMENT, to edit before returnForCorrection.")
class ReturnDraft:
    message: str
    category_ids: list[strawberry.ID]
    attachment_ids: list[strawberry.ID]


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


@strawberry.type
class ExaminerQuery:
    @strawberry.field(description="Reasons setAttachmentVerdict accepts, in display order.", permission_classes=[IsStaff])
    def verdict_reasons(self, info: Info[Context, Any]) -> list[VerdictReason]:
        return [
            VerdictReason(code=r.code, label=r.label)
            for r in verdicts.reason_catalog(info.context.services.settings)
        ]

    @strawberry.field(
        description="The return message composed from the pictures marked NEEDS_REPLACEMENT; null when absent or out of scope.",
        permission_classes=[IsStaff],
    )
    async def return_message_draft(
        self, info: Info[Context, Any], candidate_id: strawberry.ID
    ) -> ReturnDraft | None:
        draft = await verdicts.return_draft(info.context, candidate_id)
        if draft is None:
            return None
        return ReturnDraft(
            message=draft.message,
            category_ids=[strawberry.ID(str(c)) for c in draft.category_ids],
            attachment_ids=[strawberry.ID(a) for a in draft.attachment_ids],
        )

    @strawberry.field(
        description="Counts per status, oldest waiting submission, median time to first review; the caller's scope by default, null outside it.",
        permission_classes=[IsStaff],
    )
    async def review_stats(
        self, info: Info[Context, Any], region: str | None = None, site: str | None = None
    ) -> ReviewStats | None:
        stats = await history.review_stats(info.context, region, site)
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

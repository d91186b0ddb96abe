"""The candidate: the registration, its materials and messages; and how staff look one up."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from core.context import Context
from models import Candidate as CandidateRow
from models.enums import ReviewStatus as Status
from resolvers import candidates, history, materials, messages, queue
from schema.enums import ReviewStatus
from schema.errors import Payload, UserError
from schema.history import HistoryEntry, ReviewChanges
from schema.materials import Attachment, CandidateMaterial
from schema.messages import ReviewMessage
from schema.permissions import IsCandidate, IsStaff

if TYPE_CHECKING:
    from schema.claims import ReviewClaim


@strawberry.type(description="Where a SUBMITTED candidate stands in their site's queue.")
class QueuePosition:
    ahead: int = strawberry.field(
        description="Candidates of the same site, submitted earlier, still waiting."
    )
    estimated_review_by: datetime | None = strawberry.field(
        description="When review is likely, from the site's recent pace; null while there is no pace yet."
    )


@strawberry.type(
    name="Candidate", description="A candidate's registration for one exam, and the materials sent for it."
)
class Candidate:
    row: strawberry.Private[CandidateRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def username(self) -> str:
        return self.row.username

    @strawberry.field
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="准考证号 / 报名号")
    def admission_no(self) -> str:
        return self.row.admission_no

    @strawberry.field(description="e.g. 2020110")
    def exam_category_code(self) -> str:
        return self.row.exam_category_code

    @strawberry.field(description="e.g. 临床执业医师")
    def exam_category_name(self) -> str:
        return self.row.exam_category_name

    @strawberry.field(description="考区, e.g. 山东省")
    def region(self) -> str:
        return self.row.region

    @strawberry.field(description="考点, e.g. 济南")
    def site(self) -> str:
        return self.row.site

    @strawberry.field(description="阶段, e.g. 报名")
    def stage(self) -> str:
        return self.row.stage

    @strawberry.field
    def registered_at(self) -> datetime:
        return self.row.registered_at

    @strawberry.field(description="Set at the first successful sign-in.")
    def activated_at(self) -> datetime | None:
        return self.row.activated_at

    @strawberry.field
    def phone(self) -> str | None:
        return self.row.phone

    @strawberry.field
    def address(self) -> str | None:
        return self.row.address

    @strawberry.field(description="True once phone and address are filled in.")
    def profile_complete(self) -> bool:
        return self.row.profile_complete

    @strawberry.field
    def status(self) -> ReviewStatus:
        return self.row.status

    @strawberry.field(description="True when no material can be changed now.")
    def locked(self) -> bool:
        return self.row.locked

    @strawberry.field
    def submitted_at(self) -> datetime | None:
        return self.row.submitted_at

    @strawberry.field(
        description="When a return must be answered by (24 hours after it, unless the region sets otherwise)."
    )
    def reply_deadline(self) -> datetime | None:
        return self.row.reply_deadline if self.row.status == Status.RETURNED else None

    @strawberry.field(description="Set while SUBMITTED; null otherwise.")
    async def queue_position(self) -> QueuePosition | None:
        position = await queue.queue_position(self.row)
        if position is None:
            return None
        return QueuePosition(ahead=position.ahead, estimated_review_by=position.estimated_review_by)

    @strawberry.field(
        description="One entry per material category that applies to this candidate, in display order."
    )
    async def materials(self, info: Info[Context, Any]) -> list[CandidateMaterial]:
        views = await materials.materials_of(info.context, self.row)
        return [CandidateMaterial(view=v, owner=self.row) for v in views]

    @strawberry.field(description="Newest first.")
    async def messages(self, first: int | None = 50) -> list[ReviewMessage]:
        rows = await messages.messages_of(self.row, 50 if first is None else first)
        return [ReviewMessage(row=row) for row in rows]

    @strawberry.field
    async def unread_message_count(self) -> int:
        return await messages.unread_count(self.row)

    @strawberry.field(
        description="Every transition, verdict and change from the audit log, oldest first (EXAMINER, ADMIN).",
        permission_classes=[IsStaff],
    )
    async def history(self, info: Info[Context, Any]) -> list[HistoryEntry]:
        return [HistoryEntry(row=row) for row in await history.history_of(info.context, self.row)]

    @strawberry.field(
        description="Pictures new or replaced since the last return; null before any return (EXAMINER, ADMIN).",
        permission_classes=[IsStaff],
    )
    async def changes_since_last_return(self, info: Info[Context, Any]) -> ReviewChanges | None:
        changes = await history.changes_since_last_return(info.context, self.row)
        if changes is None:
            return None
        catalog = await info.context.catalog()
        added = [
            Attachment(row=a, owner=self.row, category_row=catalog.categories[a.category_id])
            for a in changes.added
        ]
        return ReviewChanges(since=changes.since, added=added, removed_count=changes.removed_count)


    @strawberry.field(
        description="Who is reviewing now; null when nobody. Always null for a candidate's own view."
    )
    async def claim(
        self, info: Info[Context, Any]
    ) -> Annotated[ReviewClaim, strawberry.lazy("schema.claims")] | None:
        from schema.claims import review_claim

        return await review_claim(info.context, self.row)


def candidate_or_none(row: CandidateRow | None) -> Candidate | None:
    return Candidate(row=row) if row is not None else None


@strawberry.type
class CandidatePayload(Payload):
    candidate: Candidate | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CandidateQuery:
    @strawberry.field(description="The signed-in candidate (CANDIDATE only).", permission_classes=[IsCandidate])
    async def me(self, info: Info[Context, Any]) -> Candidate:
        return Candidate(row=candidates.me(info.context))

    @strawberry.field(
        description="A candidate within the examiner's scope; null when absent or out of scope.",
        permission_classes=[IsStaff],
    )
    async def candidate(self, info: Info[Context, Any], id: strawberry.ID) -> Candidate | None:
        return candidate_or_none(await candidates.candidate_for_staff(info.context, id))

    @strawberry.field(
        description="Look a registration up by its number, for integrations (EXAMINER, ADMIN).",
        permission_classes=[IsStaff],
    )
    async def candidate_by_admission_no(
        self, info: Info[Context, Any], admission_no: str
    ) -> Candidate | None:
        return candidate_or_none(await candidates.candidate_by_admission_no(info.context, admission_no))

"""The examiners' side: decisions, feedback, verdicts, and the live feeds."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from models.enums import LOCKED_STATUSES
from resolvers import messages, review
from resolvers.errors import Rejected
from schema.candidates import Candidate, CandidatePayload
from schema.enums import AttachmentVerdict, ReviewStatus
from schema.errors import user_errors
from schema.materials import AttachmentPayload, attachment_type
from schema.messages import MarkReadPayload, MessagePayload, ReviewEvent, ReviewMessage
from schema.permissions import IsCandidate, IsExaminer, IsStaff
from server.context import Context


@strawberry.type(
    description="Pushed to examiners when a candidate in their scope enters or leaves the queue."
)
class QueueEvent:
    candidate: Candidate
    status: ReviewStatus
    at: datetime


async def _decision(run: Any) -> CandidatePayload:
    try:
        row = await run
    except Rejected as rejected:
        return CandidatePayload(errors=user_errors(rejected))
    return CandidatePayload(candidate=Candidate(row=row))


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(
        description="Mark the candidate's own messages read; all of them when ids is omitted (CANDIDATE).",
        permission_classes=[IsCandidate],
    )
    async def mark_messages_read(
        self, info: Info[Context, Any], ids: list[strawberry.ID] | None = None
    ) -> MarkReadPayload:
        try:
            unread = await messages.mark_messages_read(info.context, ids)  # type: ignore[arg-type]
        except Rejected as rejected:
            count = await messages.unread_count(info.context.viewer.candidate)  # type: ignore[union-attr, arg-type]
            return MarkReadPayload(unread_message_count=count, errors=user_errors(rejected))
        return MarkReadPayload(unread_message_count=unread)

    @strawberry.mutation(
        description="Send a SUBMITTED candidate back; only the named categories unlock, all when none is named (EXAMINER).",
        permission_classes=[IsExaminer],
    )
    async def return_for_correction(
        self,
        info: Info[Context, Any],
        candidate_id: strawberry.ID,
        message: str,
        category_ids: list[strawberry.ID] | None = None,
    ) -> CandidatePayload:
        return await _decision(
            review.return_for_correction(info.context, candidate_id, message, category_ids)  # type: ignore[arg-type]
        )

    @strawberry.mutation(
        description="Approve a SUBMITTED candidate (EXAMINER).", permission_classes=[IsExaminer]
    )
    async def approve_candidate(
        self, info: Info[Context, Any], candidate_id: strawberry.ID, message: str | None = None
    ) -> CandidatePayload:
        return await _decision(review.approve_candidate(info.context, candidate_id, message))

    @strawberry.mutation(
        description="Find a SUBMITTED candidate not qualified (EXAMINER).",
        permission_classes=[IsExaminer],
    )
    async def reject_candidate(
        self, info: Info[Context, Any], candidate_id: strawberry.ID, reason: str
    ) -> CandidatePayload:
        return await _decision(review.reject_candidate(info.context, candidate_id, reason))

    @strawberry.mutation(
        description="Write to a candidate without changing state (EXAMINER).",
        permission_classes=[IsExaminer],
    )
    async def send_feedback(
        self, info: Info[Context, Any], candidate_id: strawberry.ID, body: str
    ) -> MessagePayload:
        try:
            row = await review.send_feedback(info.context, candidate_id, body)
        except Rejected as rejected:
            return MessagePayload(errors=user_errors(rejected))
        return MessagePayload(message=ReviewMessage(row=row))

    @strawberry.mutation(
        description="Judge one picture; the note is shown to the candidate (EXAMINER).",
        permission_classes=[IsExaminer],
    )
    async def set_attachment_verdict(
        self,
        info: Info[Context, Any],
        attachment_id: strawberry.ID,
        verdict: AttachmentVerdict,
        note: str | None = None,
        reasons: Annotated[
            list[str] | None, strawberry.argument(description="Reason codes from verdictReasons.")
        ] = None,
    ) -> AttachmentPayload:
        try:
            row, owner = await review.set_attachment_verdict(
                info.context, attachment_id, verdict, note, reasons
            )
        except Rejected as rejected:
            return AttachmentPayload(errors=user_errors(rejected))
        return AttachmentPayload(attachment=await attachment_type(info.context, row, owner))


@strawberry.type
class ReviewSubscription:
    @strawberry.subscription(
        description="The signed-in candidate's new messages and status changes, live (CANDIDATE).",
        permission_classes=[IsCandidate],
    )
    async def review_events(self, info: Info[Context, Any]) -> AsyncGenerator[ReviewEvent, None]:
        async for event in messages.review_events(info.context):
            yield ReviewEvent(
                message=ReviewMessage(row=event.message),
                status=event.status,
                locked=event.status in LOCKED_STATUSES,
            )

    @strawberry.subscription(
        description="Candidates entering or leaving the review queue in the examiner's scope, live (EXAMINER).",
        permission_classes=[IsStaff],
    )
    async def queue_events(self, info: Info[Context, Any]) -> AsyncGenerator[QueueEvent, None]:
        async for event in messages.queue_events(info.context):
            yield QueueEvent(candidate=Candidate(row=event.candidate), status=event.status, at=event.at)

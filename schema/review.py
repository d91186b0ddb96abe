"""What examiners decide: return, approve, reject, write, and judge pictures."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from core.context import Context
from resolvers import review
from schema.candidates import Candidate, CandidatePayload
from schema.enums import AttachmentVerdict
from schema.errors import payload_mutation
from schema.materials import AttachmentPayload, attachment_type
from schema.messages import MessagePayload, ReviewMessage
from schema.permissions import IsExaminer, IsStaff


@strawberry.type(description="A reason an examiner may give for a picture's verdict.")
class VerdictReason:
    code: str
    label: str


@strawberry.type(description="The return message composed from the pictures marked NEEDS_REPLACEMENT, to edit before returnForCorrection.")
class ReturnDraft:
    message: str
    category_ids: list[strawberry.ID]
    attachment_ids: list[strawberry.ID]


@strawberry.type
class ReviewQuery:
    @strawberry.field(description="Reasons setAttachmentVerdict accepts, in display order.", permission_classes=[IsStaff])
    def verdict_reasons(self, info: Info[Context, Any]) -> list[VerdictReason]:
        return [
            VerdictReason(code=r.code, label=r.label)
            for r in review.reason_catalog(info.context.services.settings)
        ]

    @strawberry.field(
        description="The return message composed from the pictures marked NEEDS_REPLACEMENT; null when absent or out of scope.",
        permission_classes=[IsStaff],
    )
    async def return_message_draft(
        self, info: Info[Context, Any], candidate_id: strawberry.ID
    ) -> ReturnDraft | None:
        draft = await review.return_draft(info.context, candidate_id)
        if draft is None:
            return None
        return ReturnDraft(
            message=draft.message,
            category_ids=[strawberry.ID(str(c)) for c in draft.category_ids],
            attachment_ids=[strawberry.ID(a) for a in draft.attachment_ids],
        )


@strawberry.type
class ReviewMutation:
    @payload_mutation(
        "Send a SUBMITTED candidate back; only the named categories unlock, all when none is named (EXAMINER).",
        [IsExaminer],
    )
    async def return_for_correction(
        self,
        info: Info[Context, Any],
        candidate_id: strawberry.ID,
        message: str,
        category_ids: list[strawberry.ID] | None = None,
    ) -> CandidatePayload:
        row = await review.return_for_correction(info.context, candidate_id, message, category_ids)
        return CandidatePayload(candidate=Candidate(row=row))

    @payload_mutation("Approve a SUBMITTED candidate (EXAMINER).", [IsExaminer])
    async def approve_candidate(
        self, info: Info[Context, Any], candidate_id: strawberry.ID, message: str | None = None
    ) -> CandidatePayload:
        row = await review.approve_candidate(info.context, candidate_id, message)
        return CandidatePayload(candidate=Candidate(row=row))

    @payload_mutation("Find a SUBMITTED candidate not qualified (EXAMINER).", [IsExaminer])
    async def reject_candidate(
        self, info: Info[Context, Any], candidate_id: strawberry.ID, reason: str
    ) -> CandidatePayload:
        row = await review.reject_candidate(info.context, candidate_id, reason)
        return CandidatePayload(candidate=Candidate(row=row))

    @payload_mutation("Write to a candidate without changing state (EXAMINER).", [IsExaminer])
    async def send_feedback(
        self, info: Info[Context, Any], candidate_id: strawberry.ID, body: str
    ) -> MessagePayload:
        row = await review.send_feedback(info.context, candidate_id, body)
        return MessagePayload(message=ReviewMessage(row=row))

    @payload_mutation("Judge one picture; the note is shown to the candidate (EXAMINER).", [IsExaminer])
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
        row, owner = await review.set_attachment_verdict(
            info.context, attachment_id, verdict, note, reasons
        )
        return AttachmentPayload(attachment=await attachment_type(info.context, row, owner))

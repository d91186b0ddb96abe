"""Review claims: who is reviewing a candidate now, taking the next one, letting go."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from models import Candidate as CandidateRow
from resolvers import claims
from schema.candidates import Candidate, candidate_or_none
from schema.errors import Payload, UserError, payload_mutation
from schema.permissions import IsStaff


@strawberry.type(
    description="An examiner's hold on a candidate while reviewing. Others see it and cannot decide meanwhile."
)
class ReviewClaim:
    examiner_name: str = strawberry.field(description="考务人员的显示名.")
    mine: bool = strawberry.field(description="True when the caller holds this claim.")
    claimed_at: datetime
    expires_at: datetime = strawberry.field(
        description="A claim lapses by itself unless renewed (claimCandidate again); 15 minutes by default."
    )


async def review_claim(ctx: Context, row: CandidateRow) -> ReviewClaim | None:
    view = await claims.claim_of(ctx, row)
    if view is None:
        return None
    return ReviewClaim(
        examiner_name=view.examiner_name,
        mine=view.mine,
        claimed_at=view.claimed_at,
        expires_at=view.expires_at,
    )


@strawberry.type
class ClaimPayload(Payload):
    candidate: Candidate | None = strawberry.field(
        default=None, description="The claimed (or released) candidate; null when nothing was claimed."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class ClaimMutation:
    @payload_mutation(
        "Take, or renew, the review claim on a SUBMITTED candidate in scope (EXAMINER, ADMIN).\n"
        "CLAIMED_BY_OTHER when another examiner holds it; INVALID_STATE when not SUBMITTED.",
        [IsStaff],
    )
    async def claim_candidate(
        self, info: Info[Context, Any], candidate_id: strawberry.ID
    ) -> ClaimPayload:
        row = await claims.claim_candidate(info.context, candidate_id)
        return ClaimPayload(candidate=Candidate(row=row))

    @payload_mutation(
        "Claim the oldest SUBMITTED, unclaimed candidate in scope (optionally of one site) in one\n"
        "step. Examiners pressing it at once never receive the same candidate. candidate is null\n"
        "when the queue holds nobody unclaimed.",
        [IsStaff],
    )
    async def claim_next(self, info: Info[Context, Any], site: str | None = None) -> ClaimPayload:
        row = await claims.claim_next(info.context, site)
        return ClaimPayload(candidate=candidate_or_none(row))

    @payload_mutation(
        "Let go of a claim: one's own, or anyone's in scope for ADMIN.", [IsStaff]
    )
    async def release_candidate(
        self, info: Info[Context, Any], candidate_id: strawberry.ID
    ) -> ClaimPayload:
        row = await claims.release_candidate(info.context, candidate_id)
        return ClaimPayload(candidate=Candidate(row=row))

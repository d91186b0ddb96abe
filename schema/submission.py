"""提交审核."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from resolvers import submission
from schema.candidates import Candidate, CandidatePayload
from schema.errors import payload_mutation
from schema.permissions import IsCandidate


@strawberry.type
class SubmissionMutation:
    @payload_mutation(
        "提交审核: lock everything and hand it to the examiners (CANDIDATE).", [IsCandidate]
    )
    async def submit_for_review(self, info: Info[Context, Any]) -> CandidatePayload:
        row = await submission.submit_for_review(info.context)
        return CandidatePayload(candidate=Candidate(row=row))

"""Phone and address."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from resolvers import profile
from schema.candidates import Candidate, CandidatePayload
from schema.errors import payload_mutation
from schema.permissions import IsCandidate


@strawberry.input
class ProfileInput:
    phone: str = strawberry.field(description="Mainland mobile number, 11 digits starting with 1.")
    address: str


@strawberry.type
class ProfileMutation:
    @payload_mutation(
        "Fill in or change phone and address, at any time (CANDIDATE).", [IsCandidate]
    )
    async def update_profile(self, info: Info[Context, Any], input: ProfileInput) -> CandidatePayload:
        row = await profile.update_profile(info.context, input.phone, input.address)
        return CandidatePayload(candidate=Candidate(row=row))

"""Sign-in and sign-out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from resolvers import auth
from schema.candidates import Candidate, candidate_or_none
from schema.enums import Role
from schema.errors import Payload, UserError, payload_mutation


@strawberry.type
class LoginPayload(Payload):
    token: str | None = None
    role: Role | None = None
    expires_at: datetime | None = None
    candidate: Candidate | None = strawberry.field(
        default=None, description="Set when a candidate signs in."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AuthMutation:
    @payload_mutation("Sign in; a candidate's first sign-in activates the account.")
    async def login(self, info: Info[Context, Any], username: str, password: str) -> LoginPayload:
        signed_in = await auth.login(info.context, username, password)
        return LoginPayload(
            token=signed_in.token,
            role=signed_in.role,
            expires_at=signed_in.expires_at,
            candidate=candidate_or_none(signed_in.candidate),
        )

    @strawberry.mutation
    async def logout(self, info: Info[Context, Any]) -> bool:
        return await auth.logout(info.context)

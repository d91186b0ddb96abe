"""Sign-in and sign-out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from resolvers import auth
from resolvers.errors import Rejected
from schema.candidates import Candidate, candidate_or_none
from schema.enums import Role
from schema.errors import UserError, user_errors
from server.context import Context


@strawberry.type
class LoginPayload:
    token: str | None = None
    role: Role | None = None
    expires_at: datetime | None = None
    candidate: Candidate | None = strawberry.field(
        default=None, description="Set when a candidate signs in."
    )
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AccountMutation:
    @strawberry.mutation(description="Sign in; a candidate's first sign-in activates the account.")
    async def login(self, info: Info[Context, Any], username: str, password: str) -> LoginPayload:
        try:
            signed_in = await auth.login(info.context, username, password)
        except Rejected as rejected:
            return LoginPayload(errors=user_errors(rejected))
        return LoginPayload(
            token=signed_in.token,
            role=signed_in.role,
            expires_at=signed_in.expires_at,
            candidate=candidate_or_none(signed_in.candidate),
        )

    @strawberry.mutation
    async def logout(self, info: Info[Context, Any]) -> bool:
        return await auth.logout(info.context)

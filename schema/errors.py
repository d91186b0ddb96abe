"""UserError: something the person can fix, returned in a payload's `errors` list."""

from __future__ import annotations

import strawberry

from resolvers.errors import ErrorCode, Rejected


@strawberry.type(description="Something the person can fix. `message` is Chinese, ready to show as it is.")
class UserError:
    code: ErrorCode
    message: str
    field: str | None = strawberry.field(
        default=None, description="The argument or input field at fault, when there is one."
    )


def user_errors(rejected: Rejected) -> list[UserError]:
    return [UserError(code=p.code, message=p.message, field=p.field) for p in rejected.problems]

"""UserError, and the one place a refusal (`Rejected`) becomes a payload's `errors`."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.extensions.field_extension import AsyncExtensionResolver
from strawberry.permission import BasePermission
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from core.context import Context
from core.errors import ErrorCode, Rejected


@strawberry.type(description="Something the person can fix. `message` is Chinese, ready to show as it is.")
class UserError:
    code: ErrorCode
    message: str
    field: str | None = strawberry.field(
        default=None, description="The argument or input field at fault, when there is one."
    )


def user_errors(rejected: Rejected) -> list[UserError]:
    return [UserError(code=p.code, message=p.message, field=p.field) for p in rejected.problems]


P = TypeVar("P", bound="Payload")


class Payload:
    """Mixed into every mutation payload: how a refusal is answered (only `errors` set)."""

    @classmethod
    async def refused(cls: type[P], errors: list[UserError], ctx: Context) -> P:
        return cls(errors=errors)  # type: ignore[call-arg]


class _Refusable(Protocol):
    async def refused(self, errors: list[UserError], ctx: Context) -> Any: ...


class RejectedAsErrors(FieldExtension):
    """Answers a `Rejected` raised by the resolver with the field's payload and its `errors`."""

    def apply(self, field: StrawberryField) -> None:
        payload = field.type
        if not (isinstance(payload, type) and issubclass(payload, Payload)):
            raise TypeError(f"{field.python_name} must answer with a Payload, not {payload!r}")
        self.field = field

    async def resolve_async(
        self, next_: AsyncExtensionResolver, source: Any, info: Info[Context, Any], **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except Rejected as rejected:
            context = info.context
            context.trace.rejected = True
            for problem in rejected.problems:
                context.services.metrics.payload_errors.labels(info.field_name, problem.code).inc()
            payload: _Refusable = self.field.type  # type: ignore[assignment]
            return await payload.refused(user_errors(rejected), context)


def payload_mutation(
    description: str, permission_classes: list[type[BasePermission]] | None = None
) -> Any:
    """`@strawberry.mutation` for a field that answers with a payload (`errors` on refusal)."""
    return strawberry.mutation(
        description=description,
        permission_classes=permission_classes or [],
        extensions=[RejectedAsErrors()],
    )

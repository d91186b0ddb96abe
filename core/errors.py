"""Errors a person can fix (values in a payload) and errors of access (GraphQL errors).

`ErrorCode` itself lives in `models.enums`, below every layer, so the picture checks in
`storage/` name their refusals with the same typed codes the API returns.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError

from models.enums import ErrorCode

__all__ = [
    "AccessError",
    "BadArgument",
    "ErrorCode",
    "Forbidden",
    "Problem",
    "Rejected",
    "Unauthenticated",
    "Unavailable",
    "not_found",
]


@dataclass(frozen=True)
class Problem:
    code: ErrorCode
    message: str
    field: str | None = None


class Rejected(Exception):
    """Raised inside a resolver (rolling its transaction back); the mutation returns `problems`."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)

    @classmethod
    def one(cls, code: ErrorCode, message: str, field: str | None = None) -> Rejected:
        return cls(Problem(code, message, field))


def not_found(what: str = "记录", field: str | None = None) -> Rejected:
    return Rejected.one(ErrorCode.NOT_FOUND, f"{what}不存在或无权访问。", field)


class AccessError(GraphQLError):
    """Shown to callers as it is; every other exception is masked."""

    code = "FORBIDDEN"

    def __init__(self, message: str) -> None:
        super().__init__(message, extensions={"code": self.code})


class Unauthenticated(AccessError):
    code = "UNAUTHENTICATED"

    def __init__(self, message: str = "请先登录，或登录已过期，请重新登录。") -> None:
        super().__init__(message)


class Forbidden(AccessError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "当前账号无权执行此操作。") -> None:
        super().__init__(message)


class BadArgument(AccessError):
    """An argument no well-behaved client sends (a forged cursor, `first` out of range)."""

    code = "BAD_USER_INPUT"


class Unavailable(AccessError):
    """A part the request needs is down for now (the picture store): shown as it is, to retry."""

    code = "SERVICE_UNAVAILABLE"

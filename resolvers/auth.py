"""Sign-in, sign-out, and who is behind a token."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import connections

from core.clock import utcnow
from core.context import Context, Services, Viewer
from core.errors import ErrorCode, Forbidden, Rejected, Unauthenticated
from core.scope import Scope
from core.security import new_session_id, read_token, sign_token, verify_password
from models import Candidate, LoginFailure, Session, StaffUser
from models.enums import Role
from models.rows import columns, from_row


@dataclass(frozen=True)
class SignedIn:
    token: str
    role: Role
    expires_at: datetime
    candidate: Candidate | None


async def login(ctx: Context, username: str, password: str) -> SignedIn:
    settings = ctx.services.settings
    username = username.strip()
    address = ctx.client_address
    now = utcnow()
    since = now - timedelta(seconds=settings.throttle_window_seconds)

    # Count this attempt before the slow check, so a concurrent burst cannot slip past.
    attempt = await LoginFailure.create(username=username[:64], address=address[:64], at=now)
    by_username = await LoginFailure.filter(username=attempt.username, at__gt=since).count()
    by_address = await LoginFailure.filter(address=attempt.address, at__gt=since).count()
    if by_username > settings.throttle_per_username or by_address > settings.throttle_per_address:
        await attempt.delete()
        raise Rejected.one(
            ErrorCode.RATE_LIMITED,
            f"登录失败次数过多，请 {settings.throttle_window_seconds // 60} 分钟后再试。",
        )

    candidate = await Candidate.get_or_none(username=username)
    staff = None if candidate else await StaffUser.get_or_none(username=username)
    account = candidate or staff
    account_hash = account.password_hash if account is not None else None
    if not await verify_password(account_hash, password):
        raise Rejected.one(ErrorCode.INVALID_CREDENTIALS, "用户名或密码错误。")

    await LoginFailure.filter(username=attempt.username).delete()
    if candidate is not None and candidate.activated_at is None:
        # The first sign-in activates the account; the filter keeps a racing sign-in from moving it.
        await Candidate.filter(id=candidate.id, activated_at__isnull=True).update(activated_at=now)
        await candidate.refresh_from_db()

    role = Role.CANDIDATE if candidate is not None else staff.role  # type: ignore[union-attr]
    expires_at = now + timedelta(seconds=settings.token_ttl_seconds)
    expires_ts = int(expires_at.timestamp())
    session = await Session.create(
        id=new_session_id(),
        role=role,
        candidate=candidate,
        staff=staff,
        expires_at=datetime.fromtimestamp(expires_ts, UTC),
    )
    token = sign_token(settings.secret_key, session.id, expires_ts)
    return SignedIn(token=token, role=role, expires_at=session.expires_at, candidate=candidate)


async def logout(ctx: Context) -> bool:
    viewer = require_viewer(ctx)
    updated = await Session.filter(id=viewer.session_id, revoked_at__isnull=True).update(
        revoked_at=utcnow()
    )
    return bool(updated)


def session_id_of(services: Services, authorization: str | None) -> tuple[str | None, bool]:
    """The session an `Authorization: Bearer …` value names, and whether a bad one was sent."""
    if not authorization:
        return None, False
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, True
    claims = read_token(services.settings.secret_key, token.strip())
    if claims is None:
        return None, True
    return claims.session_id, False


async def viewers_of(session_ids: list[str]) -> dict[str, Viewer]:
    """The live sessions among these, as viewers (revoked and expired ones are absent).

    Every request and every socket reads this: one statement written by hand (see
    models/rows.py), read fresh each time, so a sign-out or a revoked session is refused on
    the very next request."""
    connection = connections.get("default")
    rows = await connection.execute_query_dict(
        _session_sql(connection.capabilities.dialect, len(session_ids)), list(session_ids)
    )
    now = utcnow()
    found = {}
    for row in rows:
        session = from_row(Session, row, "s")
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            continue
        found[session.id] = Viewer(
            role=session.role,
            session_id=session.id,
            candidate=from_row(Candidate, row, "c"),
            staff=from_row(StaffUser, row, "st"),
        )
    return found


async def resolve_viewer(services: Services, authorization: str | None) -> tuple[Viewer | None, bool]:
    """The viewer behind a request's `Authorization` value, and whether a bad token was sent."""
    session_id, bad = session_id_of(services, authorization)
    if session_id is None:
        return None, bad
    viewer = (await viewers_of([session_id])).get(session_id)
    return viewer, viewer is None


@functools.lru_cache(maxsize=64)
def _session_sql(dialect: str, count: int) -> str:
    if dialect == "sqlite":
        wanted = "IN (" + ", ".join("?" * count) + ")"
    else:
        wanted = "IN (" + ", ".join(f"${n}" for n in range(1, count + 1)) + ")"
    return (
        f"SELECT {columns(Session, 's')}, {columns(Candidate, 'c')}, {columns(StaffUser, 'st')}"
        ' FROM "session" s'
        ' LEFT JOIN "candidate" c ON c."id" = s."candidate_id"'
        ' LEFT JOIN "staff_user" st ON st."id" = s."staff_id"'
        f' WHERE s."id" {wanted}'
    )


def require_viewer(ctx: Context) -> Viewer:
    if ctx.viewer is None:
        raise Unauthenticated()
    return ctx.viewer


def require_candidate(ctx: Context) -> Candidate:
    viewer = require_viewer(ctx)
    if viewer.role != Role.CANDIDATE or viewer.candidate is None:
        raise Forbidden("此操作仅限考生本人。")
    return viewer.candidate


def require_staff(ctx: Context, *roles: Role) -> StaffUser:
    viewer = require_viewer(ctx)
    if viewer.staff is None or viewer.role not in roles:
        raise Forbidden("此操作仅限管理员。" if roles == (Role.ADMIN,) else "此操作仅限考务人员。")
    return viewer.staff


def require_scope(ctx: Context, *roles: Role) -> Scope:
    """The caller's scope, for staff of these roles; everyone else is refused."""
    return Scope.of(require_staff(ctx, *roles))

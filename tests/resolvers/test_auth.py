"""resolvers/auth.py: sign-in, the throttle, sign-out, and what a token is worth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.security import read_token, sign_token
from models import Candidate, LoginFailure, Session
from models.enums import Role
from tests.helpers import operations as op
from tests.helpers.client import GraphQLClient, Result
from tests.helpers.factories import PASSWORD, make_candidate, make_staff, unique
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as service_settings

UNAUTHENTICATED = ["UNAUTHENTICATED"]


async def login(client: GraphQLClient, username: str, password: str = PASSWORD, **headers: str) -> dict[str, Any]:
    result = await client.execute(op.LOGIN, {"u": username, "p": password}, headers=headers or None)
    return result.payload("login")


def error_codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def me(client: GraphQLClient) -> Result:
    return await client.execute("query { me { id username activatedAt } }")


@pytest.mark.parametrize("role", [Role.CANDIDATE, Role.EXAMINER, Role.ADMIN])
async def test_login_succeeds_for_every_role(
    service: Service, anonymous: GraphQLClient, role: Role
) -> None:
    if role == Role.CANDIDATE:
        username = (await make_candidate(service)).username
    else:
        username = (await make_staff(service, role=role)).username
    before = datetime.now(UTC)
    payload = await login(anonymous, username)
    after = datetime.now(UTC)

    assert payload["errors"] == []
    assert payload["role"] == role.value
    ttl = timedelta(seconds=service.settings.token_ttl_seconds)
    expires = when(payload["expiresAt"])
    assert before + ttl - timedelta(seconds=2) <= expires <= after + ttl + timedelta(seconds=1)
    claims = read_token(service.settings.secret_key, payload["token"])
    assert claims is not None and claims.expires_at == int(expires.timestamp())
    if role == Role.CANDIDATE:
        assert payload["candidate"] is not None
    else:
        assert payload["candidate"] is None

    # The token is accepted: categories is open to every signed-in role.
    signed_in = anonymous.with_token(payload["token"])
    categories = await signed_in.execute(op.CATEGORIES)
    assert categories.errors == [] and isinstance(categories.payload("categories"), list)
    await signed_in.aclose()


async def test_first_sign_in_activates_and_a_second_does_not_move_it(
    service: Service, anonymous: GraphQLClient
) -> None:
    row = await make_candidate(service)
    assert row.activated_at is None

    first = await login(anonymous, row.username)
    activated = first["candidate"]["activatedAt"]
    assert activated is not None
    assert abs(when(activated) - datetime.now(UTC)) < timedelta(minutes=1)

    second = await login(anonymous, row.username)
    assert second["errors"] == []
    assert second["candidate"]["activatedAt"] == activated
    with service.db():
        stored = await Candidate.get(id=row.id)
    assert stored.activated_at is not None
    assert stored.activated_at.isoformat() == when(activated).isoformat()

    signed_in = anonymous.with_token(second["token"])
    assert (await me(signed_in)).payload("me")["activatedAt"] == activated
    await signed_in.aclose()


async def test_staff_sign_in_has_no_candidate_and_activates_nothing(
    service: Service, anonymous: GraphQLClient
) -> None:
    staff = await make_staff(service)
    payload = await login(anonymous, staff.username)
    assert payload["role"] == "EXAMINER" and payload["candidate"] is None


async def test_unknown_username_and_wrong_password_look_the_same(
    service: Service, anonymous: GraphQLClient
) -> None:
    row = await make_candidate(service)
    wrong_password = await login(anonymous, row.username, "not-the-password")
    unknown_user = await login(anonymous, unique("nobody"), PASSWORD)

    assert error_codes(wrong_password) == ["INVALID_CREDENTIALS"]
    assert wrong_password == unknown_user
    assert wrong_password["token"] is None and wrong_password["role"] is None
    assert wrong_password["expiresAt"] is None and wrong_password["candidate"] is None
    assert wrong_password["errors"][0]["message"] == "用户名或密码错误。"
    with service.db():
        stored = await Candidate.get(id=row.id)
    assert stored.activated_at is None  # a failed sign-in activates nothing


async def test_username_is_trimmed(service: Service, anonymous: GraphQLClient) -> None:
    row = await make_candidate(service)
    payload = await login(anonymous, f"  {row.username} ")
    assert payload["errors"] == [] and payload["role"] == "CANDIDATE"


async def test_too_many_failures_for_one_username_are_rate_limited_even_with_the_right_password(
    service: Service, anonymous: GraphQLClient
) -> None:
    row = await make_candidate(service)
    other = await make_candidate(service)
    limit = service.settings.throttle_per_username
    assert limit == 10  # the documented default
    for _ in range(limit):
        failed = await login(anonymous, row.username, "wrong-password")
        assert error_codes(failed) == ["INVALID_CREDENTIALS"]

    limited = await login(anonymous, row.username, PASSWORD)
    assert error_codes(limited) == ["RATE_LIMITED"]
    assert limited["token"] is None
    assert "登录失败次数过多" in limited["errors"][0]["message"]
    assert "15 分钟" in limited["errors"][0]["message"]
    # Still limited: a refused attempt neither clears nor signs in.
    assert error_codes(await login(anonymous, row.username, PASSWORD)) == ["RATE_LIMITED"]

    # Another username from the same address is not affected.
    assert (await login(anonymous, other.username))["errors"] == []


async def test_unknown_usernames_count_towards_the_throttle(
    service: Service, anonymous: GraphQLClient
) -> None:
    ghost = unique("ghost")
    for _ in range(service.settings.throttle_per_username):
        assert error_codes(await login(anonymous, ghost, "x")) == ["INVALID_CREDENTIALS"]
    assert error_codes(await login(anonymous, ghost, "x")) == ["RATE_LIMITED"]


async def test_success_clears_the_username_count(service: Service, anonymous: GraphQLClient) -> None:
    row = await make_candidate(service)
    below = service.settings.throttle_per_username - 1
    for _ in range(2):
        for _ in range(below):
            assert error_codes(await login(anonymous, row.username, "wrong")) == [
                "INVALID_CREDENTIALS"
            ]
        # Without the reset the second round would reach the limit.
        assert (await login(anonymous, row.username))["errors"] == []
    with service.db():
        assert await LoginFailure.filter(username=row.username).count() == 0


async def test_failures_older_than_the_window_do_not_count(
    service: Service, anonymous: GraphQLClient
) -> None:
    stale = await make_candidate(service)
    fresh = await make_candidate(service)
    settings = service.settings
    now = datetime.now(UTC)
    old = now - timedelta(seconds=settings.throttle_window_seconds + 60)
    recent = now - timedelta(seconds=settings.throttle_window_seconds // 2)
    with service.db():
        for _ in range(settings.throttle_per_username + 5):
            await LoginFailure.create(username=stale.username, address="198.51.100.7", at=old)
            await LoginFailure.create(username=fresh.username, address="198.51.100.7", at=recent)

    assert (await login(anonymous, stale.username))["errors"] == []
    assert error_codes(await login(anonymous, fresh.username)) == ["RATE_LIMITED"]


async def test_throttle_per_client_address(tmp_path: Path) -> None:
    """A dedicated service with small limits: 3 per username, 5 per address."""
    own = await start_service(service_settings(tmp_path, throttle_per_username=3, throttle_per_address=5))
    client = own.client()
    try:
        target = await make_candidate(own)
        bystander = await make_candidate(own)
        attacker = {"X-Forwarded-For": "203.0.113.9"}

        # Per username: the 4th attempt is refused, even with the right password.
        for _ in range(3):
            failed = await login(client, target.username, "wrong", **attacker)
            assert error_codes(failed) == ["INVALID_CREDENTIALS"]
        assert error_codes(await login(client, target.username, PASSWORD, **attacker)) == [
            "RATE_LIMITED"
        ]

        # Per address: failures spread over fresh usernames still add up (3 so far, 2 more).
        for _ in range(2):
            failed = await login(client, unique("spray"), "wrong", **attacker)
            assert error_codes(failed) == ["INVALID_CREDENTIALS"]
        limited = await login(client, bystander.username, PASSWORD, **attacker)
        assert error_codes(limited) == ["RATE_LIMITED"]

        # The bystander signs in from another address; the username itself is clean.
        elsewhere = await login(client, bystander.username, PASSWORD, **{"X-Forwarded-For": "203.0.113.10"})
        assert elsewhere["errors"] == [] and elsewhere["role"] == "CANDIDATE"
        # The target is still limited from any address until the window passes.
        assert error_codes(
            await login(client, target.username, PASSWORD, **{"X-Forwarded-For": "203.0.113.11"})
        ) == ["RATE_LIMITED"]
    finally:
        await client.aclose()
        await own.stop()


async def test_logout_revokes_only_that_token(service: Service, anonymous: GraphQLClient) -> None:
    row = await make_candidate(service)
    first = anonymous.with_token((await login(anonymous, row.username))["token"])
    second = anonymous.with_token((await login(anonymous, row.username))["token"])
    assert (await me(first)).errors == []

    result = await first.execute(op.LOGOUT)
    assert result.errors == [] and result.data == {"logout": True}

    after = await me(first)
    assert after.error_codes == UNAUTHENTICATED
    assert after.data is None
    assert (await first.execute(op.LOGOUT)).error_codes == UNAUTHENTICATED
    # The other session of the same person is untouched.
    assert (await me(second)).payload("me")["username"] == row.username
    claims = read_token(service.settings.secret_key, first.token or "")
    assert claims is not None
    with service.db():
        session = await Session.get(id=claims.session_id)
    assert session.revoked_at is not None
    for client in (first, second):
        await client.aclose()


async def test_logout_without_a_token_is_unauthenticated(anonymous: GraphQLClient) -> None:
    result = await anonymous.execute(op.LOGOUT)
    assert result.error_codes == UNAUTHENTICATED


async def _candidate_token(service: Service, anonymous: GraphQLClient) -> str:
    row = await make_candidate(service)
    token = (await login(anonymous, row.username))["token"]
    assert isinstance(token, str)
    return token


def _tampered(token: str) -> list[str]:
    version, session_id, expires, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_session = ("A" if session_id[0] != "A" else "B") + session_id[1:]
    return [
        f"{version}.{session_id}.{expires}.{flipped}",
        f"{version}.{other_session}.{expires}.{signature}",
        f"{version}.{session_id}.{int(expires) + 3600}.{signature}",
        token[:-3],
        "v1.garbage",
    ]


async def test_tampered_tokens_are_unauthenticated(service: Service, anonymous: GraphQLClient) -> None:
    token = await _candidate_token(service, anonymous)
    for bad in _tampered(token):
        client = anonymous.with_token(bad)
        result = await me(client)
        assert result.error_codes == UNAUTHENTICATED, bad
        assert result.errors[0]["message"] == "请先登录，或登录已过期，请重新登录。"
        await client.aclose()
    # The genuine token still works.
    genuine = anonymous.with_token(token)
    assert (await me(genuine)).errors == []
    await genuine.aclose()


@pytest.mark.parametrize("header", ["Basic abc", "Bearer", "Token v1.a.b.c", "bearer-v1.a.b.c"])
async def test_malformed_authorization_headers_are_unauthenticated(
    anonymous: GraphQLClient, header: str
) -> None:
    result = await anonymous.execute(op.ME, headers={"Authorization": header})
    assert result.error_codes == UNAUTHENTICATED


async def test_expired_token_is_unauthenticated(service: Service, anonymous: GraphQLClient) -> None:
    token = await _candidate_token(service, anonymous)
    claims = read_token(service.settings.secret_key, token)
    assert claims is not None
    # Well signed, for a live session, but past its expiry.
    past = int((datetime.now(UTC) - timedelta(seconds=5)).timestamp())
    expired = anonymous.with_token(sign_token(service.settings.secret_key, claims.session_id, past))
    assert (await me(expired)).error_codes == UNAUTHENTICATED
    await expired.aclose()


async def test_session_expired_on_the_server_is_unauthenticated(
    service: Service, anonymous: GraphQLClient
) -> None:
    token = await _candidate_token(service, anonymous)
    claims = read_token(service.settings.secret_key, token)
    assert claims is not None
    client = anonymous.with_token(token)
    assert (await me(client)).errors == []
    with service.db():
        await Session.filter(id=claims.session_id).update(
            expires_at=datetime.now(UTC) - timedelta(seconds=1)
        )
    assert (await me(client)).error_codes == UNAUTHENTICATED
    await client.aclose()


async def test_token_signed_with_another_secret_is_unauthenticated(
    service: Service, anonymous: GraphQLClient
) -> None:
    token = await _candidate_token(service, anonymous)
    claims = read_token(service.settings.secret_key, token)
    assert claims is not None
    forged = anonymous.with_token(sign_token("not-the-secret", claims.session_id, claims.expires_at))
    assert (await me(forged)).error_codes == UNAUTHENTICATED
    await forged.aclose()

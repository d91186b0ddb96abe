"""server/security.py: password hashes, session tokens and signed picture addresses."""

from __future__ import annotations

import time

import pytest

from core.security import (
    check_signed_path,
    hash_password,
    is_password_hash,
    new_session_id,
    read_token,
    sign_path,
    sign_token,
    verify_password,
)

SECRET = "unit-test-secret"
NOW = 1_800_000_000.0


def _flip(text: str, index: int) -> str:
    """The same text with one character changed."""
    replacement = "A" if text[index] != "A" else "B"
    return text[:index] + replacement + text[index + 1 :]


async def test_password_hash_is_argon2_and_verifies_only_the_right_password() -> None:
    hashed = hash_password("correct horse")
    assert is_password_hash(hashed) and hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert await verify_password(hashed, "correct horse") is True
    assert await verify_password(hashed, "correct horsf") is False
    assert await verify_password(hashed, "") is False


async def test_verify_password_without_a_hash_or_with_garbage_is_false() -> None:
    # An unknown username has no hash: the check still runs (same cost) and fails.
    assert await verify_password(None, "anything") is False
    assert await verify_password("not-a-hash", "anything") is False
    assert not is_password_hash("plain text")


def test_each_hash_is_salted() -> None:
    assert hash_password("same") != hash_password("same")


def test_session_ids_are_random_and_long() -> None:
    ids = {new_session_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) >= 40 for i in ids)


def test_token_round_trip() -> None:
    session_id = new_session_id()
    token = sign_token(SECRET, session_id, int(NOW) + 60)
    claims = read_token(SECRET, token, now=NOW)
    assert claims is not None
    assert claims.session_id == session_id
    assert claims.expires_at == int(NOW) + 60


def test_token_with_current_clock() -> None:
    token = sign_token(SECRET, "s", int(time.time()) + 3600)
    assert read_token(SECRET, token) is not None
    expired = sign_token(SECRET, "s", int(time.time()) - 1)
    assert read_token(SECRET, expired) is None


def test_token_expires_at_its_second() -> None:
    token = sign_token(SECRET, "session", int(NOW) + 10)
    assert read_token(SECRET, token, now=NOW + 9.9) is not None
    assert read_token(SECRET, token, now=NOW + 10) is None
    assert read_token(SECRET, token, now=NOW + 3600) is None


@pytest.mark.parametrize("part", [1, 2, 3], ids=["session", "expiry", "signature"])
def test_token_tampered_anywhere_is_refused(part: int) -> None:
    token = sign_token(SECRET, new_session_id(), int(NOW) + 60)
    parts = token.split(".")
    parts[part] = _flip(parts[part], 0) if part != 2 else str(int(parts[2]) + 3600)
    tampered = ".".join(parts)
    assert tampered != token
    assert read_token(SECRET, tampered, now=NOW) is None


def test_token_signed_with_another_secret_is_refused() -> None:
    token = sign_token("another-secret", "session", int(NOW) + 60)
    assert read_token(SECRET, token, now=NOW) is None


@pytest.mark.parametrize(
    "token",
    ["", "v1", "v1.a.b", "v2.session.1900000000.sig", "v1.session.soon.sig", "a.b.c.d.e", "Bearer x"],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    assert read_token(SECRET, token, now=NOW) is None


def test_a_token_signature_does_not_sign_a_path() -> None:
    # Purposes are separated: a token's MAC cannot be replayed as a picture signature.
    token = sign_token(SECRET, "/pictures/x/original", int(NOW) + 60)
    signature = token.split(".")[-1]
    assert not check_signed_path(SECRET, "/pictures/x/original", str(int(NOW) + 60), signature, now=NOW)


def _query(signed: str) -> tuple[str, str, str]:
    path, _, query = signed.partition("?")
    params = dict(pair.split("=", 1) for pair in query.split("&"))
    return path, params["exp"], params["sig"]


def test_signed_path_round_trip() -> None:
    signed = sign_path(SECRET, "/pictures/abc/original", 600, now=NOW)
    path, expires, signature = _query(signed)
    assert path == "/pictures/abc/original"
    assert expires == str(int(NOW) + 600)
    assert check_signed_path(SECRET, path, expires, signature, now=NOW) is True
    assert check_signed_path(SECRET, path, expires, signature, now=NOW + 599) is True


def test_signed_path_expires() -> None:
    path, expires, signature = _query(sign_path(SECRET, "/pictures/abc/original", 600, now=NOW))
    assert check_signed_path(SECRET, path, expires, signature, now=NOW + 600) is False
    assert check_signed_path(SECRET, path, expires, signature, now=NOW + 86400) is False


def test_signed_path_is_for_that_path_only() -> None:
    _, expires, signature = _query(sign_path(SECRET, "/pictures/abc/original", 600, now=NOW))
    assert check_signed_path(SECRET, "/pictures/abc/thumbnail", expires, signature, now=NOW) is False
    assert check_signed_path(SECRET, "/pictures/abd/original", expires, signature, now=NOW) is False


def test_signed_path_expiry_cannot_be_extended() -> None:
    path, expires, signature = _query(sign_path(SECRET, "/pictures/abc/original", 600, now=NOW))
    later = str(int(expires) + 86400)
    assert check_signed_path(SECRET, path, later, signature, now=NOW + 700) is False


def test_signed_path_with_another_secret_or_tampered_signature_is_refused() -> None:
    path, expires, signature = _query(sign_path(SECRET, "/pictures/abc/original", 600, now=NOW))
    assert check_signed_path("other", path, expires, signature, now=NOW) is False
    assert check_signed_path(SECRET, path, expires, _flip(signature, 3), now=NOW) is False


@pytest.mark.parametrize(
    ("expires", "signature"),
    [(None, "sig"), ("", "sig"), ("123", None), ("123", ""), ("-5", "sig"), ("12a", "sig")],
)
def test_signed_path_missing_or_malformed_parameters_are_refused(
    expires: str | None, signature: str | None
) -> None:
    assert check_signed_path(SECRET, "/pictures/abc/original", expires, signature, now=NOW) is False


async def test_the_unknown_user_hash_costs_what_a_real_hash_costs() -> None:
    # The dummy hash is a literal made offline: it must carry the hasher's very parameters
    # (memory, passes, lanes, lengths), or an unknown username would be faster to refuse.
    from core import security

    assert not security._hasher().check_needs_rehash(security._DUMMY_HASH)
    assert security._DUMMY_HASH.startswith("$argon2id$")
    assert await verify_password(None, "anything") is False

"""Passwords, session tokens and signed picture addresses."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def _hasher() -> PasswordHasher:
    """argon2, imported by the first sign-in or hash rather than at every start."""
    from argon2 import PasswordHasher

    return PasswordHasher()


# Verified when the username is unknown, so both failures cost the same time. Made once, offline,
# with the hasher's own parameters (`PasswordHasher().hash(<a random secret, thrown away>)`):
# hashing at import cost every start about 0.2 s. A test holds it to the hasher's parameters.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$PyKUczIai08J8fi6xvFl/Q$rkFfIYtT5H+ojQ6NlXY4slqRoUZLnuQs1l/BWim/1Bo"
)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def is_password_hash(value: str) -> bool:
    return value.startswith("$argon2")


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-shape check in a worker thread (argon2 is deliberately slow)."""

    def check() -> bool:
        from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

        try:
            return _hasher().verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _mac(secret: str, purpose: str, message: str) -> str:
    key = hashlib.sha256(f"{purpose}:{secret}".encode()).digest()
    return _b64(hmac.new(key, message.encode(), hashlib.sha256).digest())


@dataclass(frozen=True)
class TokenClaims:
    session_id: str
    expires_at: int


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def sign_token(secret: str, session_id: str, expires_at: int) -> str:
    body = f"{session_id}.{expires_at}"
    return f"v1.{body}.{_mac(secret, 'token', body)}"


def read_token(secret: str, token: str, now: float | None = None) -> TokenClaims | None:
    """The claims of a well-signed, unexpired token; None for anything else."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "v1":
        return None
    _, session_id, expires, signature = parts
    if not hmac.compare_digest(signature, _mac(secret, "token", f"{session_id}.{expires}")):
        return None
    if not expires.isdigit() or int(expires) <= (time.time() if now is None else now):
        return None
    return TokenClaims(session_id=session_id, expires_at=int(expires))


def _url_message(path: str, expires: str | int, viewer: str) -> str:
    # Without a viewer the message is the one older links were signed with.
    return f"{path}|{expires}|{viewer}" if viewer else f"{path}|{expires}"


def sign_path(
    secret: str, path: str, ttl_seconds: int, now: float | None = None, viewer: str = ""
) -> str:
    """`path?exp=…[&by=…]&sig=…`: valid for ttl_seconds, for this exact path only.

    `viewer` names who the link was made for (e.g. "s12" for staff 12); it is signed, so an
    opening through the link can be attributed without a token, and cannot be re-attributed.
    """
    expires = int((time.time() if now is None else now) + ttl_seconds)
    signature = _mac(secret, "url", _url_message(path, expires, viewer))
    by = f"&by={viewer}" if viewer else ""
    return f"{path}?exp={expires}{by}&sig={signature}"


def check_signed_path(
    secret: str,
    path: str,
    expires: str | None,
    signature: str | None,
    now: float | None = None,
    viewer: str | None = None,
) -> bool:
    if not expires or not signature or not expires.isdigit():
        return False
    if not hmac.compare_digest(signature, _mac(secret, "url", _url_message(path, expires, viewer or ""))):
        return False
    return int(expires) > (time.time() if now is None else now)


def staff_viewer(staff_id: int) -> str:
    """How a signed picture link names the member of staff it was made for."""
    return f"s{staff_id}"


def staff_id_of(viewer: str | None) -> int | None:
    """The staff id a link's signed viewer names; None for candidates' links."""
    if viewer and viewer.startswith("s") and viewer[1:].isdigit() and len(viewer) < 20:
        return int(viewer[1:])
    return None

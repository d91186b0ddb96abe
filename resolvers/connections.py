"""Sign-in of WebSocket connections, batched: a reconnect storm reads sessions in few queries.

`resolvers/auth.py` `resolve_viewer` stays the lookup of HTTP requests; this is the socket's
`connection_init`, which thousands of pages send at once after a worker restart.
"""

from __future__ import annotations

from core.clock import utcnow
from core.context import Services, Viewer
from core.security import read_token
from models import Session


async def _sessions(ids: list[str]) -> dict[str, Session]:
    rows = await Session.filter(id__in=ids).select_related("candidate", "staff")
    return {row.id: row for row in rows}


async def socket_viewer(services: Services, authorization: str | None) -> Viewer | None:
    """The viewer behind a connection_init's `Authorization: Bearer …`; None when there is none."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    claims = read_token(services.settings.secret_key, token.strip())
    if claims is None:
        return None
    session = await services.batcher("sessions", _sessions).get(claims.session_id)
    if session is None or session.revoked_at is not None or session.expires_at <= utcnow():
        return None
    return Viewer(
        role=session.role, session_id=session.id, candidate=session.candidate, staff=session.staff
    )

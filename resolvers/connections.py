"""Sign-in of WebSocket connections, batched: a reconnect storm reads sessions in few queries.

`resolvers/auth.py` `resolve_viewer` stays the lookup of HTTP requests; this is the socket's
`connection_init`, which thousands of pages send at once after a worker restart.
"""

from __future__ import annotations

from core.context import Services, Viewer
from resolvers.auth import session_id_of, viewers_of


async def socket_viewer(services: Services, authorization: str | None) -> Viewer | None:
    """The viewer behind a connection_init's `Authorization: Bearer …`; None when there is none.
    Sockets opening at once share one read of their sessions."""
    session_id, _ = session_id_of(services, authorization)
    if session_id is None:
        return None
    return await services.batcher("viewers", viewers_of).get(session_id)

"""resolvers/connections.py: the batched sign-in of WebSocket connections."""

from __future__ import annotations

import asyncio

from core.clock import utcnow
from core.security import read_token
from models import Session
from models.enums import Role
from resolvers.connections import socket_viewer
from tests.helpers.accounts import signed_in
from tests.helpers.factories import make_candidate
from tests.helpers.service import Service


async def test_concurrent_sign_ins_share_one_query_and_each_gets_its_own_viewer(
    service: Service,
) -> None:
    rows = [await make_candidate(service) for _ in range(8)]
    clients = [await signed_in(service, row.username) for row in rows]
    services = service.services
    with service.db():
        await socket_viewer(services, f"Bearer {clients[0].token}")  # the batcher exists now
        loads = services.batchers["viewers"].loads
        viewers = await asyncio.gather(
            *(socket_viewer(services, f"Bearer {c.token}") for c in clients)
        )
    assert services.batchers["viewers"].loads == loads + 1
    for viewer, row in zip(viewers, rows, strict=True):
        assert viewer is not None and viewer.role == Role.CANDIDATE
        assert viewer.candidate is not None and viewer.candidate.id == row.id
    for client in clients:
        await client.aclose()


async def test_revoked_tampered_and_missing_tokens_sign_nobody_in(service: Service) -> None:
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    assert client.token is not None
    claims = read_token(service.services.settings.secret_key, client.token)
    assert claims is not None
    with service.db():
        assert await socket_viewer(service.services, f"Bearer {client.token}") is not None
        assert await socket_viewer(service.services, None) is None
        assert await socket_viewer(service.services, f"Basic {client.token}") is None
        assert await socket_viewer(service.services, f"Bearer {client.token}x") is None
        await Session.filter(id=claims.session_id).update(revoked_at=utcnow())
        assert await socket_viewer(service.services, f"Bearer {client.token}") is None
    await client.aclose()

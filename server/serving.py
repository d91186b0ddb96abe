"""uvicorn's server, with a hook once it listens (`exam-review serve` with one worker)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn


class ServerThen(uvicorn.Server):
    """Runs `then()` once the server listens: work that must not delay the first answer."""

    def __init__(self, config: uvicorn.Config, then: Callable[[], None]) -> None:
        super().__init__(config)
        self.then = then

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self.then()

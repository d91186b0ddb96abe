"""A real TCP relay between the browser and the service, to cut the line or answer 502.

It stands where a reverse proxy or a flaky mobile network stands: the service is untouched.
"""

from __future__ import annotations

import asyncio
from enum import Enum

_BODY = b"<h1>502 Bad Gateway</h1>"
BAD_GATEWAY = (
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(_BODY), _BODY)
)


class Line(Enum):
    UP = "up"  # relay everything
    DOWN = "down"  # reset every connection, like a lost network
    BAD_GATEWAY = "bad_gateway"  # answer 502 to every request, like a proxy whose upstream is gone
    STALLED = "stalled"  # accept and swallow, never answer, like a network that hangs


class Relay:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.line = Line.UP
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def set_line(self, line: Line) -> None:
        """Switch the line; every open connection is reset, so none outlives the old state."""
        self.line = line
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    async def stop(self) -> None:
        self.set_line(Line.DOWN)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Every connection was reset above, so each task ends by itself; cancel only stragglers.
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=5)
            for task in pending:
                task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            self._open.discard(writer)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.line is Line.DOWN:
            return
        self._open.add(writer)
        if self.line is Line.BAD_GATEWAY:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            writer.write(BAD_GATEWAY)
            await writer.drain()
            return
        if self.line is Line.STALLED:
            while await reader.read(65536):
                pass
            return
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self._open.add(up_writer)
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._open.discard(up_writer)
            up_writer.transport.abort()

    @staticmethod
    async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        finally:
            sink.transport.abort()

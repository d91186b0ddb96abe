"""Lookups by key made at about the same time, answered by one query for all their keys.

When thousands of pages reconnect at once (a worker restart), each connection signs in and each
subscription reads where its feed starts. One query per page is a burst of thousands of reads;
a `Batcher` collects the keys asked for during one loop turn (and while earlier loads are still
running) and loads them together, at most `max_keys` per query and `max_loads` queries at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Load = Callable[[list[K]], Awaitable[Mapping[K, V]]]


class Batcher(Generic[K, V]):
    """`await batcher.get(key)`: the value `load` gave for key, or None when it gave none."""

    def __init__(self, load: Load[K, V], *, max_keys: int = 500, max_loads: int = 2) -> None:
        if max_keys < 1 or max_loads < 1:
            raise ValueError("max_keys and max_loads must be at least 1")
        self.load = load
        self.max_keys = max_keys
        self.max_loads = max_loads
        self.loads = 0  # queries made, for tests and the benchmark
        self._pending: dict[K, list[asyncio.Future[V | None]]] = {}
        self._scheduled = False
        self._running: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        """No lookup waiting and no load running."""
        return not self._pending and not self._running

    async def get(self, key: K) -> V | None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[V | None] = loop.create_future()
        self._pending.setdefault(key, []).append(future)
        if len(self._pending) >= self.max_keys:
            self._flush()
        elif not self._scheduled:
            # The rest of this loop turn's callers join the same query.
            self._scheduled = True
            loop.call_soon(self._flush_scheduled)
        return await future

    def _flush_scheduled(self) -> None:
        self._scheduled = False
        self._flush()

    def _flush(self) -> None:
        # Bounded: past max_loads the keys wait (and gather) until a running load ends.
        while self._pending and len(self._running) < self.max_loads:
            keys = list(self._pending)[: self.max_keys]
            batch = {key: self._pending.pop(key) for key in keys}
            task = asyncio.get_running_loop().create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending:
            self._flush()

    async def _run(self, batch: dict[K, list[asyncio.Future[V | None]]]) -> None:
        self.loads += 1
        try:
            found = await self.load(list(batch))
        except BaseException as exc:
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for key, futures in batch.items():
            value = found.get(key)
            for future in futures:
                if not future.done():
                    future.set_result(value)

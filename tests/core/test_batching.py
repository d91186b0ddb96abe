"""core/batching.py: concurrent lookups coalesced into bounded batches."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from core.batching import Batcher
from tests.helpers.waiting import eventually


class Table:
    """A loader over a dict that records every batch of keys it was asked for."""

    def __init__(self, rows: Mapping[int, str]) -> None:
        self.rows = dict(rows)
        self.batches: list[list[int]] = []
        self.running = 0
        self.most_running = 0
        self.gate: asyncio.Event | None = None

    async def load(self, keys: list[int]) -> dict[int, str]:
        self.batches.append(list(keys))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            return {k: self.rows[k] for k in keys if k in self.rows}
        finally:
            self.running -= 1


async def test_lookups_of_one_loop_turn_are_one_query() -> None:
    table = Table({k: f"v{k}" for k in range(100)})
    batcher = Batcher(table.load)
    got = await asyncio.gather(*(batcher.get(k) for k in range(100)))
    assert got == [f"v{k}" for k in range(100)]
    assert table.batches == [list(range(100))]
    assert batcher.loads == 1


async def test_a_missing_key_is_none_and_a_repeated_key_is_asked_once() -> None:
    table = Table({1: "one"})
    batcher = Batcher(table.load)
    got = await asyncio.gather(batcher.get(1), batcher.get(2), batcher.get(1))
    assert got == ["one", None, "one"]
    assert table.batches == [[1, 2]]


async def test_batches_are_capped_in_keys_and_in_loads_at_once() -> None:
    table = Table({k: str(k) for k in range(1000)})
    table.gate = asyncio.Event()
    batcher = Batcher(table.load, max_keys=100, max_loads=2)
    lookups = asyncio.gather(*(batcher.get(k) for k in range(1000)))
    # Two loads start and hold; the other keys wait for them instead of making more queries.
    await eventually(lambda: len(table.batches) == 2, "two loads started", every=0)
    assert table.running == 2
    table.gate.set()
    got = await lookups
    assert got == [str(k) for k in range(1000)]
    assert table.most_running == 2
    assert all(len(batch) <= 100 for batch in table.batches)
    assert sorted(k for batch in table.batches for k in batch) == list(range(1000))
    assert len(table.batches) == 10


async def test_keys_asked_while_loads_run_gather_into_the_next_query() -> None:
    table = Table({k: str(k) for k in range(50)})
    table.gate = asyncio.Event()
    batcher = Batcher(table.load, max_loads=1)
    first = asyncio.ensure_future(batcher.get(0))
    await eventually(lambda: bool(table.batches), "the first load started", every=0)
    later = [asyncio.ensure_future(batcher.get(k)) for k in range(1, 50)]
    for _ in range(5):
        await asyncio.sleep(0)  # several loop turns pass while the first load holds
    assert table.batches == [[0]]
    table.gate.set()
    assert await first == "0"
    assert [await f for f in later] == [str(k) for k in range(1, 50)]
    assert table.batches == [[0], list(range(1, 50))]


async def test_a_failed_load_fails_every_lookup_of_its_batch_only() -> None:
    calls = 0

    async def flaky(keys: list[int]) -> dict[int, int]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database went away")
        return {k: k for k in keys}

    batcher = Batcher(flaky)
    results = await asyncio.gather(batcher.get(1), batcher.get(2), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await batcher.get(3) == 3


async def test_a_cancelled_lookup_leaves_the_others_answered() -> None:
    table = Table({1: "one", 2: "two"})
    table.gate = asyncio.Event()
    batcher = Batcher(table.load)
    cancelled = asyncio.ensure_future(batcher.get(1))
    kept = asyncio.ensure_future(batcher.get(2))
    await eventually(lambda: bool(table.batches), "the first load started", every=0)
    cancelled.cancel()
    table.gate.set()
    assert await kept == "two"
    with pytest.raises(asyncio.CancelledError):
        await cancelled


def test_limits_below_one_are_refused() -> None:
    async def load(keys: list[int]) -> dict[int, int]:
        return {}

    with pytest.raises(ValueError):
        Batcher(load, max_keys=0)

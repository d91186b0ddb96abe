"""pubsub/memory.py and the Mailbox/Subscribed parts of pubsub/base.py, in process."""

from __future__ import annotations

import asyncio

import pytest

from pubsub import open_broker
from pubsub.base import Mailbox
from pubsub.memory import MemoryBroker


def memory_broker() -> MemoryBroker:
    broker = open_broker("memory://")
    assert isinstance(broker, MemoryBroker)
    return broker


async def test_events_reach_every_subscriber_of_the_topic_in_order() -> None:
    broker = memory_broker()
    async with (
        broker.subscribe("candidate:1") as first,
        broker.subscribe("candidate:1") as second,
        broker.subscribe("candidate:2") as other,
    ):
        assert broker.subscriber_count("candidate:1") == 2
        for n in range(5):
            await broker.publish("candidate:1", {"message_id": n})
        await broker.publish("candidate:2", {"message_id": 99})
        first_events, second_events = aiter(first), aiter(second)
        for n in range(5):
            assert await asyncio.wait_for(anext(first_events), 5) == {"message_id": n}
            assert await asyncio.wait_for(anext(second_events), 5) == {"message_id": n}
        assert await asyncio.wait_for(anext(aiter(other)), 5) == {"message_id": 99}
    assert broker.subscriber_count("candidate:1") == 0
    assert broker.subscriber_count("candidate:2") == 0


async def test_a_waiting_subscriber_wakes_on_publish() -> None:
    broker = memory_broker()
    async with broker.subscribe("t") as events:
        waiting = asyncio.ensure_future(anext(aiter(events)))
        await asyncio.sleep(0)  # one loop turn: the reader is parked on its future
        assert not waiting.done()
        await broker.publish("t", {"n": 1})
        assert await asyncio.wait_for(waiting, 5) == {"n": 1}


async def test_close_ends_iteration_after_the_events_already_delivered() -> None:
    broker = memory_broker()
    async with broker.subscribe("t") as events:
        await broker.publish("t", {"n": 1})
        await broker.publish("t", {"n": 2})
        await broker.close()
        await broker.publish("t", {"n": 3})  # still attached, but its mailbox is closed
        got = [event async for event in events]
    assert got == [{"n": 1}, {"n": 2}]


async def test_close_wakes_a_waiting_reader() -> None:
    broker = memory_broker()
    async with broker.subscribe("t") as events:
        reader = asyncio.ensure_future(anext(aiter(events)))
        await asyncio.sleep(0)
        await broker.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(reader, 5)


async def test_a_cancelled_reader_leaves_the_mailbox_usable() -> None:
    mailbox = Mailbox()
    reader = asyncio.ensure_future(anext(mailbox))
    await asyncio.sleep(0)
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader
    mailbox.deliver({"n": 1})
    assert await asyncio.wait_for(anext(mailbox), 5) == {"n": 1}


async def test_leaving_the_context_on_an_error_releases_the_subscription() -> None:
    broker = memory_broker()
    with pytest.raises(RuntimeError):
        async with broker.subscribe("t"):
            assert broker.subscriber_count("t") == 1
            raise RuntimeError("boom")
    assert broker.subscriber_count("t") == 0
    await broker.publish("t", {"n": 1})  # nobody listens: nothing raises

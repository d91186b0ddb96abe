"""server/pubsub/redis.py against real Redis servers: delivery, prefixes, outages, reconnects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pubsub import open_broker
from pubsub.base import Event, Subscription, is_resubscribed
from pubsub.redis import RedisBroker
from tests.helpers.engines import REDIS_URL, OwnRedis
from tests.helpers.factories import unique
from tests.helpers.processes import free_port


def broker_for(url: str = REDIS_URL, prefix: str | None = None) -> RedisBroker:
    broker = open_broker(f"{url}?prefix={prefix or unique('er-test')}")
    assert isinstance(broker, RedisBroker)
    return broker


@pytest.fixture
async def broker() -> AsyncIterator[RedisBroker]:
    running = broker_for()
    await running.start()
    yield running
    await running.close()


async def next_event(subscription: Subscription, within: float = 10) -> Event:
    iterator = aiter(subscription)
    return await asyncio.wait_for(anext(iterator), within)


async def test_events_reach_every_subscriber_of_the_topic_in_order(broker: RedisBroker) -> None:
    async with (
        broker.subscribe("candidate:1") as first,
        broker.subscribe("candidate:1") as second,
        broker.subscribe("candidate:2") as other,
    ):
        for n in range(5):
            await broker.publish("candidate:1", {"message_id": n})
        await broker.publish("candidate:2", {"message_id": 99})
        first_events = aiter(first)
        second_events = aiter(second)
        for n in range(5):
            assert await asyncio.wait_for(anext(first_events), 10) == {"message_id": n}
            assert await asyncio.wait_for(anext(second_events), 10) == {"message_id": n}
        assert await next_event(other) == {"message_id": 99}
    assert broker.subscriber_count("candidate:1") == 0


async def test_a_second_process_receives_what_the_first_publishes(broker: RedisBroker) -> None:
    other_worker = broker_for(prefix=broker.prefix)
    await other_worker.start()
    try:
        async with broker.subscribe("queue:山东省") as events:
            await other_worker.publish("queue:山东省", {"status": "SUBMITTED", "site": "济南"})
            assert await next_event(events) == {"status": "SUBMITTED", "site": "济南"}
    finally:
        await other_worker.close()


async def test_prefixes_keep_deployments_apart(broker: RedisBroker) -> None:
    neighbour = broker_for()
    await neighbour.start()
    try:
        async with broker.subscribe("candidate:7") as mine:
            await neighbour.publish("candidate:7", {"message_id": "theirs"})
            await broker.publish("candidate:7", {"message_id": "mine"})
            assert await next_event(mine) == {"message_id": "mine"}
    finally:
        await neighbour.close()
    assert broker.channel("candidate:7") == f"{broker.prefix}:candidate:7"


async def test_leaving_a_subscription_ends_it_and_close_ends_the_rest(broker: RedisBroker) -> None:
    async with broker.subscribe("candidate:3"):
        assert broker.subscriber_count("candidate:3") == 1
    assert broker.subscriber_count("candidate:3") == 0
    async with broker.subscribe("candidate:4") as events:
        await broker.close()
        assert [event async for event in events] == []


async def test_publish_with_redis_down_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = broker_for(f"redis://127.0.0.1:{free_port()}/0")
    await down.start()  # starting with Redis down does not fail the service either
    try:
        with caplog.at_level(logging.WARNING, logger="pubsub.redis"):
            await asyncio.wait_for(down.publish("candidate:1", {"message_id": 1}), 10)
        assert any("not published" in r.getMessage() for r in caplog.records)
    finally:
        await down.close()


async def test_a_reconnect_is_signalled_and_delivery_resumes(tmp_path: Path) -> None:
    own = OwnRedis(tmp_path / "redis").start()
    broker = broker_for(own.url)
    publisher = broker_for(own.url, prefix=broker.prefix)
    await broker.start()
    await publisher.start()
    try:
        async with broker.subscribe("candidate:5") as subscription:
            events = aiter(subscription)
            await publisher.publish("candidate:5", {"message_id": 1})
            assert await asyncio.wait_for(anext(events), 10) == {"message_id": 1}
            own.stop()
            await publisher.publish("candidate:5", {"message_id": 2})  # lost on Redis: no error
            own.start()
            # the subscription learns it may have missed events, then hears new ones
            assert is_resubscribed(await asyncio.wait_for(anext(events), 30))
            await publisher.publish("candidate:5", {"message_id": 3})
            assert await asyncio.wait_for(anext(events), 10) == {"message_id": 3}
        assert broker.reconnects >= 1
    finally:
        await publisher.close()
        await broker.close()
        own.stop()


async def test_subscriptions_made_while_redis_is_down_start_with_a_marker(tmp_path: Path) -> None:
    own = OwnRedis(tmp_path / "redis")
    broker = broker_for(own.url)
    await broker.start()  # nothing listens on the port yet
    try:
        async with broker.subscribe("candidate:6") as subscription:
            events = aiter(subscription)
            own.start()
            assert is_resubscribed(await asyncio.wait_for(anext(events), 30))
            await broker.publish("candidate:6", {"message_id": 6})
            assert await asyncio.wait_for(anext(events), 10) == {"message_id": 6}
    finally:
        await broker.close()
        own.stop()


def test_broker_url_is_parsed() -> None:
    broker = open_broker("redis://10.0.0.9:6380/2?prefix=exam-2026")
    assert isinstance(broker, RedisBroker)
    assert (broker.prefix, broker.url) == ("exam-2026", "redis://10.0.0.9:6380/2")
    assert RedisBroker.from_url("redis://127.0.0.1:1/0").prefix == "exam-review"
    with pytest.raises(ValueError):
        open_broker("kafka://nowhere")


async def test_a_subscription_closed_while_it_starts_ends(broker: RedisBroker) -> None:
    """Closing a page as its subscription starts must end the subscription, not leave it waiting.

    redis-py sends SUBSCRIBE through asyncio.wait_for, which on Python 3.11 drops a cancellation
    that arrives as the send completes; unshielded, about one such close in two left the
    subscriber waiting for events for ever (and its socket open).
    """

    async def listen(topic: str) -> None:
        async with broker.subscribe(topic) as events:
            async for _ in events:
                pass

    stuck = 0
    for attempt in range(60):
        task = asyncio.create_task(listen(f"candidate:closing-{attempt}"))
        # From "before anything was sent" to "already listening", at one-loop-step resolution.
        for _ in range(attempt % 6):
            await asyncio.sleep(0)
        task.cancel()
        done, _ = await asyncio.wait([task], timeout=2)
        stuck += not done
        if not done:
            task.cancel()
    assert stuck == 0
    assert all(broker.subscriber_count(f"candidate:closing-{n}") == 0 for n in range(60))

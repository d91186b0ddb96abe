"""Waiting for something to become true: polls against a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from core.settings import Settings
from pubsub.redis import RedisBroker

if TYPE_CHECKING:  # service.py waits with eventually() too
    from tests.helpers.service import Service


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], what: str, within: float = 10, every: float = 0.01
) -> None:
    """Return as soon as `check()` is true; fail naming `what` once `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(every)


async def subscribed(service: Service, topic: str, count: int = 1, within: float = 10) -> None:
    """Until the server's broker holds `count` subscribers of topic.

    A subscription is live only once the server has run its resolver up to the broker;
    events published before that are not for it. On Redis it is live once Redis itself
    confirms the channel: the process counts a subscriber before that.
    """
    broker = service.services.broker
    await eventually(
        lambda: broker.subscriber_count(topic) == count,
        f"{topic} has {count} subscriber(s) (now {broker.subscriber_count(topic)})",
        within,
    )
    if count and isinstance(broker, RedisBroker):
        redis = Redis.from_url(broker.url)
        try:
            await wait_for_listeners(redis, [broker.channel(topic)], within)
        finally:
            await redis.aclose()


def broker_channel(settings: Settings, topic: str) -> str:
    """The Redis channel a topic travels on, for a service with these settings."""
    return RedisBroker.from_url(settings.broker_url).channel(topic)


async def wait_for_listeners(redis: Redis, channels: list[str], within: float = 20) -> None:
    """Until Redis itself reports a subscriber on every channel (the socket is really listening)."""

    async def listening() -> bool:
        counts = dict(await redis.pubsub_numsub(*channels))
        return all(counts.get(c.encode(), counts.get(c, 0)) >= 1 for c in channels)

    await eventually(listening, f"a subscriber on every one of {channels}", within, every=0.05)

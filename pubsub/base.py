"""Publish/subscribe by topic. Events are small JSON-able dicts that name database rows."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

Event = dict[str, Any]

RESUBSCRIBED_KEY = "__resubscribed__"


def resubscribed_marker() -> Event:
    """What a subscription yields after its broker reconnected: events may have been missed."""
    return {RESUBSCRIBED_KEY: True}


def is_resubscribed(event: Event) -> bool:
    """True for the reconnect marker; subscribers catch up from the database when they see it."""
    return event.get(RESUBSCRIBED_KEY) is True


class Subscription(abc.ABC):
    """Events of one topic, in publish order, until the context is left."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Event]: ...


class QueueSubscription(Subscription):
    """A subscription fed through an in-process queue; `close()` ends its iteration."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue()

    def deliver(self, event: Event) -> None:
        self.queue.put_nowait(event)

    def close(self) -> None:
        self.queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            event = await self.queue.get()
            if event is None:
                return
            yield event


class Broker(abc.ABC):
    async def start(self) -> None:
        """Connect; safe to call once at app start."""

    async def close(self) -> None:
        """Disconnect and end every open subscription."""

    async def ping(self) -> None:
        """Return once the broker answers; raise when it cannot (for /readyz)."""

    @abc.abstractmethod
    async def publish(self, topic: str, event: Event) -> None:
        """Deliver to every current subscriber of topic, at most once; never raises for delivery."""

    @abc.abstractmethod
    def subscribe(self, topic: str) -> AbstractAsyncContextManager[Subscription]:
        """Listen from now on; leaving the context releases the subscription.

        Delivery is at most once. A broker that lost its connection yields
        `resubscribed_marker()` once it listens again, so subscribers can re-read what
        they may have missed from the database.
        """

    @abc.abstractmethod
    def subscriber_count(self, topic: str) -> int:
        """Subscriptions of topic open in this process (live subscriptions, for tests and metrics)."""


def open_broker(url: str) -> Broker:
    if url.startswith("memory://"):
        from pubsub.memory import MemoryBroker

        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from pubsub.redis import RedisBroker

        return RedisBroker.from_url(url)
    raise ValueError(f"unsupported BROKER_URL: {url!r}")

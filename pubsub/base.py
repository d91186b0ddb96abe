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

    __slots__ = ()

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Event]: ...


class Mailbox(Subscription):
    """One subscriber's events: a list and at most one waiting future.

    Lighter than an `asyncio.Queue` (which keeps two deques of waiters and an unfinished-task
    count) and than an async generator per iteration: thousands of open pages hold one each.
    `close()` ends the iteration once the events already delivered are read.
    """

    __slots__ = ("_closed", "_events", "_waiter")

    def __init__(self) -> None:
        # A list, not a deque: a deque allocates a 64-slot block even when empty, and a page's
        # mailbox is empty nearly always (one or two events between reads).
        self._events: list[Event] = []
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False

    def deliver(self, event: Event) -> None:
        if not self._closed:
            self._events.append(event)
            self._wake()

    def close(self) -> None:
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def __aiter__(self) -> Mailbox:
        return self

    async def __anext__(self) -> Event:
        while not self._events:
            if self._closed:
                raise StopAsyncIteration
            waiter = self._waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                if self._waiter is waiter:
                    self._waiter = None
        return self._events.pop(0)


class Subscribed(AbstractAsyncContextManager[Subscription]):
    """What `Broker.subscribe` returns: a plain class, not an @asynccontextmanager generator
    (a generator, its frame and its context-manager wrapper per open page)."""

    __slots__ = ("_broker", "_mailbox", "_topic")

    def __init__(self, broker: Broker, topic: str) -> None:
        self._broker = broker
        self._topic = topic
        self._mailbox: Mailbox | None = None

    async def __aenter__(self) -> Subscription:
        mailbox = self._mailbox = Mailbox()
        await self._broker._attach(self._topic, mailbox)
        return mailbox

    async def __aexit__(self, *exc_info: object) -> None:
        mailbox, self._mailbox = self._mailbox, None
        if mailbox is not None:
            await self._broker._detach(self._topic, mailbox)


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

    def subscribe(self, topic: str) -> AbstractAsyncContextManager[Subscription]:
        """Listen from now on; leaving the context releases the subscription.

        Delivery is at most once. A broker that lost its connection yields
        `resubscribed_marker()` once it listens again, so subscribers can re-read what
        they may have missed from the database.
        """
        return Subscribed(self, topic)

    @abc.abstractmethod
    async def _attach(self, topic: str, mailbox: Mailbox) -> None:
        """Start delivering topic's events to mailbox; on failure leave nothing attached."""

    @abc.abstractmethod
    async def _detach(self, topic: str, mailbox: Mailbox) -> None:
        """Stop delivering to mailbox; the last subscriber of a topic releases it."""

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

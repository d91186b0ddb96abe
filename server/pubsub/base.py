"""Publish/subscribe by topic. Events are small JSON-able dicts that name database rows."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

Event = dict[str, Any]


class Subscription(abc.ABC):
    """Events of one topic, in publish order, until the context is left."""

    @abc.abstractmethod
    def __aiter__(self) -> AsyncIterator[Event]: ...


class Broker(abc.ABC):
    async def start(self) -> None:
        """Connect; safe to call once at app start."""

    async def close(self) -> None:
        """Disconnect and end every open subscription."""

    @abc.abstractmethod
    async def publish(self, topic: str, event: Event) -> None:
        """Deliver to every current subscriber of topic, at most once; never raises for delivery."""

    @abc.abstractmethod
    def subscribe(self, topic: str) -> AbstractAsyncContextManager[Subscription]:
        """Listen from now on; leaving the context releases the subscription."""


def open_broker(url: str) -> Broker:
    if url.startswith("memory://"):
        from server.pubsub.memory import MemoryBroker

        return MemoryBroker()
    raise ValueError(f"unsupported BROKER_URL: {url!r}")

"""The in-process broker: right for one process; several processes need Redis."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pubsub.base import Broker, Event, QueueSubscription, Subscription


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._topics: defaultdict[str, set[QueueSubscription]] = defaultdict(set)

    async def publish(self, topic: str, event: Event) -> None:
        for subscription in list(self._topics.get(topic, ())):
            subscription.deliver(event)

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        subscription = QueueSubscription()
        self._topics[topic].add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._topics.get(topic)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._topics[topic]

    async def close(self) -> None:
        for subscribers in self._topics.values():
            for subscription in subscribers:
                subscription.close()

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

"""The in-process broker: right for one process; several processes need Redis."""

from __future__ import annotations

from collections import defaultdict

from pubsub.base import Broker, Event, Mailbox


class MemoryBroker(Broker):
    def __init__(self) -> None:
        self._topics: defaultdict[str, set[Mailbox]] = defaultdict(set)

    async def publish(self, topic: str, event: Event) -> None:
        for subscription in list(self._topics.get(topic, ())):
            subscription.deliver(event)

    async def _attach(self, topic: str, mailbox: Mailbox) -> None:
        self._topics[topic].add(mailbox)

    async def _detach(self, topic: str, mailbox: Mailbox) -> None:
        subscribers = self._topics.get(topic)
        if subscribers is not None:
            subscribers.discard(mailbox)
            if not subscribers:
                del self._topics[topic]

    async def close(self) -> None:
        for subscribers in self._topics.values():
            for subscription in subscribers:
                subscription.close()

    def subscriber_count(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

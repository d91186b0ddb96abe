"""Redis pub/sub across processes: one listening connection per process, reconnected with backoff.

Redis delivers at most once and forgets what it could not deliver, so after every reconnect
each subscription receives `resubscribed_marker()` and catches up from the database.
A publish while Redis is down is logged and dropped: the mutation has committed already.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pubsub.base import (
    Broker,
    Event,
    Mailbox,
    resubscribed_marker,
)

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "exam-review"
_UNREACHABLE = (RedisError, OSError, asyncio.TimeoutError)


class RedisBroker(Broker):
    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        backoff_initial: float = 0.05,
        backoff_max: float = 2.0,
        confirm_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.confirm_timeout = confirm_timeout
        self._channels: dict[str, set[Mailbox]] = {}
        self._confirmed: dict[str, asyncio.Event] = {}
        self._resubscribing: set[str] = set()
        self._control = f"{prefix}:__broker__"
        self._publisher: Redis | None = None
        self._listener_client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._lock = asyncio.Lock()
        self._listener: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self.reconnects = 0

    @classmethod
    def from_url(cls, url: str) -> RedisBroker:
        """`redis://host:port/db?prefix=NAME`: the prefix starts every channel name."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        prefix = next((v for k, v in query if k == "prefix"), "") or DEFAULT_PREFIX
        rest = urlencode([(k, v) for k, v in query if k != "prefix"])
        return cls(urlunsplit(parts._replace(query=rest)), prefix=prefix)

    def channel(self, topic: str) -> str:
        return f"{self.prefix}:{topic}"

    async def start(self) -> None:
        if self._listener is not None:
            return
        # Fail fast: a mutation must not wait long for a Redis that is down.
        self._publisher = Redis.from_url(
            self.url,
            socket_connect_timeout=1,
            socket_timeout=2,
            retry=Retry(NoBackoff(), 1),
        )
        # No silent reconnects on the listening connection: every reconnect goes through
        # _listen_forever, which tells subscribers to catch up.
        self._listener_client = Redis.from_url(
            self.url,
            socket_connect_timeout=2,
            socket_timeout=5,
            health_check_interval=10,
            retry=Retry(NoBackoff(), 0),
        )
        self._listener = asyncio.create_task(self._listen_forever(), name="redis-broker")
        # Wait briefly for the first connection so early subscribers are confirmed;
        # a Redis that is down does not stop the service from starting.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._started.wait(), self.confirm_timeout)

    async def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        for subscribers in self._channels.values():
            for subscription in subscribers:
                subscription.close()
        for client in (self._publisher, self._listener_client):
            if client is not None:
                with contextlib.suppress(*_UNREACHABLE):
                    await client.aclose()
        self._publisher = self._listener_client = None

    async def ping(self) -> None:
        if self._publisher is None:
            raise ConnectionError("Redis broker not started")
        await self._publisher.ping()

    async def publish(self, topic: str, event: Event) -> None:
        if self._publisher is None:
            log.warning("Redis broker not started; event on %s dropped", topic)
            return
        try:
            await self._publisher.publish(self.channel(topic), json.dumps(event))
        except _UNREACHABLE as exc:
            log.warning("Redis unreachable, event on %s not published: %s", topic, exc)

    async def _attach(self, topic: str, mailbox: Mailbox) -> None:
        channel = self.channel(topic)
        subscribers = self._channels.setdefault(channel, set())
        first = not subscribers
        subscribers.add(mailbox)
        if not first:
            # Listening only once Redis confirmed the channel for the first subscriber too.
            confirming = self._confirmed.get(channel)
            if confirming is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(confirming.wait(), self.confirm_timeout)
            return
        try:
            # Shielded: redis-py sends the command through asyncio.wait_for, which on 3.11
            # loses a cancellation that arrives as the send completes, and a subscription
            # closed at that moment would wait for events for ever instead of ending.
            await asyncio.shield(self._subscribe_channel(channel))
        except BaseException:
            await self._detach(topic, mailbox)
            raise

    async def _detach(self, topic: str, mailbox: Mailbox) -> None:
        channel = self.channel(topic)
        subscribers = self._channels.get(channel, set())
        subscribers.discard(mailbox)
        if not subscribers:
            self._channels.pop(channel, None)
            await self._unsubscribe_channel(channel)

    async def _subscribe_channel(self, channel: str) -> None:
        """Subscribe on Redis and wait for its confirmation; while Redis is down, the
        reconnect subscribes every channel and sends the marker."""
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None:
                return
            confirmed = self._confirmed[channel] = asyncio.Event()
            try:
                await pubsub.subscribe(channel)
            except _UNREACHABLE as exc:
                log.warning("Redis unreachable, %s subscribes on reconnect: %s", channel, exc)
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(confirmed.wait(), self.confirm_timeout)

    async def _unsubscribe_channel(self, channel: str) -> None:
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None or channel in self._channels:
                return
            with contextlib.suppress(*_UNREACHABLE):
                await pubsub.unsubscribe(channel)

    async def _listen_forever(self) -> None:
        assert self._listener_client is not None
        delay = self.backoff_initial
        connected_before = False
        while True:
            pubsub = self._listener_client.pubsub()
            try:
                async with self._lock:
                    channels = list(self._channels)
                    # The control channel keeps the connection subscribed when nobody listens.
                    await pubsub.subscribe(self._control, *channels)
                    # Subscriptions made while Redis was unreachable may have missed events too.
                    self._resubscribing = set(channels)
                    self._pubsub = pubsub
                if connected_before:
                    self.reconnects += 1
                    log.info("Redis broker listening again on %d channels", len(channels))
                connected_before = True
                delay = self.backoff_initial
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message)
            except asyncio.CancelledError:
                self._pubsub = None
                with contextlib.suppress(*_UNREACHABLE):
                    await pubsub.aclose()
                raise
            except _UNREACHABLE as exc:
                log.warning("Redis broker connection lost, retrying in %.2fs: %s", delay, exc)
            self._pubsub = None
            with contextlib.suppress(*_UNREACHABLE):
                await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff_max)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel = _text(message["channel"])
        if kind == "subscribe":
            if channel == self._control:
                self._started.set()
            confirmed = self._confirmed.pop(channel, None)
            if confirmed is not None:
                confirmed.set()
            if channel in self._resubscribing:
                # Listening again: whatever was published meanwhile is lost on Redis.
                self._resubscribing.discard(channel)
                for subscription in self._channels.get(channel, ()):
                    subscription.deliver(resubscribed_marker())
            return
        if kind != "message":
            return
        try:
            event = json.loads(message["data"])
        except ValueError:
            log.warning("undecodable event on %s dropped", channel)
            return
        for subscription in list(self._channels.get(channel, ())):
            subscription.deliver(event)

    def subscriber_count(self, topic: str) -> int:
        return len(self._channels.get(self.channel(topic), ()))


def _text(value: bytes | str | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""

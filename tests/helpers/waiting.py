"""Waiting for something to become true: polls against a deadline, never a fixed sleep."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable

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
    events published before that are not for it.
    """
    broker = service.services.broker
    await eventually(
        lambda: broker.subscriber_count(topic) == count,
        f"{topic} has {count} subscriber(s) (now {broker.subscriber_count(topic)})",
        within,
    )

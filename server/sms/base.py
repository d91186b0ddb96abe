"""One interface for everything that carries an outbox row out of the service."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass


class DeliveryFailed(Exception):
    """The far side did not take the message; the sender retries it later."""


@dataclass(frozen=True)
class Outgoing:
    outbox_id: int
    target: str  # a phone number, or an endpoint URL for webhooks
    body: str
    idempotency_key: str


class Gateway(ABC):
    @abstractmethod
    async def deliver(self, item: Outgoing) -> None:
        """Hand the message over, or raise DeliveryFailed."""

    async def close(self) -> None:
        """Release what the gateway holds; most hold nothing."""

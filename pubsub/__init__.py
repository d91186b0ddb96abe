"""Live events between processes: one Broker interface, in-process and Redis implementations."""

from pubsub.base import Broker, Event, Subscription, is_resubscribed, open_broker

__all__ = ["Broker", "Event", "Subscription", "is_resubscribed", "open_broker"]

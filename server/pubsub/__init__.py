"""Live events between processes: one Broker interface, several implementations."""

from server.pubsub.base import Broker, Subscription, open_broker

__all__ = ["Broker", "Subscription", "open_broker"]

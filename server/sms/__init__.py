"""Sending what the outbox holds: SMS gateways, webhook calls, and the leasing sender."""

from server.sms.base import DeliveryFailed, Gateway, Outgoing
from server.sms.sender import OutboxSender, build_sender

__all__ = ["DeliveryFailed", "Gateway", "OutboxSender", "Outgoing", "build_sender"]

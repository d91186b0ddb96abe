"""The outbox sender: claim due rows with a lease, deliver, then mark sent, retry or failed.

A claim is one conditional UPDATE (… WHERE id = ? AND (lease_until IS NULL OR lease_until < now)),
so on SQLite and PostgreSQL alike a row is handled by exactly one worker at a time, however many
run. A worker that dies leaves its lease to expire and another takes the row over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise.context import TortoiseContext
from tortoise.expressions import Q

from core.clock import utcnow
from core.settings import Settings
from models import OutboxMessage, ReviewMessage
from models.notifications import OutboxKind, OutboxStatus
from server.sms.base import DeliveryFailed, Gateway, Outgoing
from server.sms.http import HttpGateway, HttpPoster
from server.sms.log import LogGateway

log = logging.getLogger("exam_review.sender")
ERROR_MAX = 500


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    dropped: int = 0
    sent_ids: list[int] = field(default_factory=list)


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Seconds to wait after the n-th failed attempt: base, 2·base, 4·base, … never above cap."""
    return float(min(cap, base * 2 ** max(attempts - 1, 0)))


class OutboxSender:
    def __init__(
        self,
        settings: Settings,
        sms: Gateway,
        webhooks: Gateway,
        worker_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.gateways = {OutboxKind.SMS: sms, OutboxKind.WEBHOOK: webhooks}
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def _claim(self, now: datetime) -> list[OutboxMessage]:
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        due = (
            await OutboxMessage.filter(free, status=OutboxStatus.QUEUED, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .limit(self.settings.sender_batch)
            .values_list("id", flat=True)
        )
        lease_until = now + timedelta(seconds=self.settings.sender_lease_seconds)
        mine = []
        for pk in due:
            won = await OutboxMessage.filter(free, id=pk, status=OutboxStatus.QUEUED).update(
                lease_until=lease_until, lease_owner=self.worker_id
            )
            if won:
                mine.append(pk)
        if not mine:
            return []
        return await OutboxMessage.filter(id__in=mine, lease_owner=self.worker_id).order_by("id")

    async def _all_read(self, row: OutboxMessage) -> bool:
        unread = await ReviewMessage.filter(
            sms_notice__outbox_id=row.id, read_at__isnull=True
        ).count()
        return unread == 0

    async def _handle(self, row: OutboxMessage, now: datetime, report: SendReport) -> None:
        mine = OutboxMessage.filter(id=row.id, lease_owner=self.worker_id)
        if row.kind == OutboxKind.SMS and row.drop_if_read and await self._all_read(row):
            await mine.update(status=OutboxStatus.DROPPED, dropped_at=now, lease_until=None)
            report.dropped += 1
            return
        attempts = row.attempts + 1
        item = Outgoing(row.id, row.target, row.body, row.idempotency_key)
        try:
            await self.gateways[row.kind].deliver(item)
        except DeliveryFailed as exc:
            error = str(exc)[:ERROR_MAX] or type(exc).__name__
            if attempts >= self.settings.sender_max_attempts:
                await mine.update(
                    status=OutboxStatus.FAILED, attempts=attempts, failed_at=utcnow(),
                    last_error=error, lease_until=None,
                )
                report.failed += 1
                log.warning("%s %s failed for good after %d attempts: %s", row.kind, row.id, attempts, error)
            else:
                wait = backoff_seconds(
                    attempts,
                    self.settings.sender_backoff_base_seconds,
                    self.settings.sender_backoff_cap_seconds,
                )
                await mine.update(
                    attempts=attempts, last_error=error, lease_until=None,
                    next_attempt_at=now + timedelta(seconds=wait),
                )
                report.retried += 1
            return
        await mine.update(
            status=OutboxStatus.SENT, attempts=attempts, sent_at=utcnow(), lease_until=None,
            last_error=None,
        )
        report.sent += 1
        report.sent_ids.append(row.id)

    async def run_once(self, now: datetime | None = None) -> SendReport:
        """Claim what is due at `now` (default: the clock) and handle it; returns the counts."""
        now = now or utcnow()
        report = SendReport()
        rows = await self._claim(now)
        report.claimed = len(rows)
        if rows:
            await asyncio.gather(*(self._handle(row, now, report) for row in rows))
        return report

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                report = await self.run_once()
            except Exception:  # a database hiccup must not end the loop
                log.exception("outbox sender round failed")
                report = SendReport()
            if report.claimed < self.settings.sender_batch:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.settings.sender_poll_seconds)

    async def close(self) -> None:
        for gateway in self.gateways.values():
            await gateway.close()


def sms_gateway(settings: Settings) -> Gateway:
    if settings.sms_gateway == "http":
        if not settings.sms_http_url:
            raise ValueError("SMS_GATEWAY=http needs SMS_HTTP_URL")
        return HttpGateway(
            settings.sms_http_url,
            settings.sms_http_secret or settings.secret_key,
            settings.sender_timeout_seconds,
        )
    if settings.sms_gateway == "log":
        return LogGateway(settings.var_dir / "sms.log")
    raise ValueError(f"unknown SMS_GATEWAY {settings.sms_gateway!r}: log or http")


def build_sender(settings: Settings, worker_id: str | None = None) -> OutboxSender:
    webhooks = HttpPoster(
        settings.webhook_secret or settings.secret_key, settings.sender_timeout_seconds
    )
    return OutboxSender(settings, sms_gateway(settings), webhooks, worker_id)


@asynccontextmanager
async def running_sender(settings: Settings, orm: TortoiseContext) -> AsyncIterator[None]:
    """The sender as a background task of the service, unless SMS_SENDER=off."""
    if not settings.sms_sender_enabled:
        yield
        return
    sender = build_sender(settings)
    stop = asyncio.Event()
    with orm:  # the task inherits the ORM context current at its creation
        task = asyncio.create_task(sender.run_forever(stop), name="outbox-sender")
    try:
        yield
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, settings.sender_timeout_seconds + 5)
        except TimeoutError:
            log.warning("outbox sender did not stop in time; its leases will expire")
        await sender.close()

"""The default SMS gateway: one line per SMS appended to var/sms.log."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.clock import utcnow
from server.sms.base import DeliveryFailed, Gateway, Outgoing


class LogGateway(Gateway):
    def __init__(self, path: Path) -> None:
        self.path = path

    def _append(self, line: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(line)

    async def deliver(self, item: Outgoing) -> None:
        at = utcnow().isoformat(timespec="seconds")
        text = " ".join(item.body.split())
        line = f"{at} SMS to={item.target} key={item.idempotency_key} {text}\n"
        try:
            await asyncio.to_thread(self._append, line)
        except OSError as exc:
            raise DeliveryFailed(f"无法写入 {self.path}: {exc}") from exc

"""What the candidate is told outside the page: the SMS behind a message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from models import OutboxMessage as OutboxRow
from models.notifications import OutboxStatus

strawberry.enum(OutboxStatus, name="SmsStatus", description="QUEUED until sent, then SENT, FAILED (after the last retry) or DROPPED (read on the page while held).")


@strawberry.type(description="The SMS that tells the candidate of a message (several messages may share one).")
class SmsState:
    row: strawberry.Private[OutboxRow]

    @strawberry.field
    def status(self) -> OutboxStatus:
        return self.row.status

    @strawberry.field
    def queued_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field(description="When the next attempt is due (while QUEUED).")
    def next_attempt_at(self) -> datetime | None:
        return self.row.next_attempt_at if self.row.status == OutboxStatus.QUEUED else None

    @strawberry.field
    def sent_at(self) -> datetime | None:
        return self.row.sent_at

    @strawberry.field
    def failed_at(self) -> datetime | None:
        return self.row.failed_at

    @strawberry.field
    def attempts(self) -> int:
        return self.row.attempts

    @strawberry.field(description="The gateway's last error; null for candidates.")
    def last_error(self, info: Info[Context, Any]) -> str | None:
        viewer = info.context.viewer
        return self.row.last_error if viewer is not None and viewer.staff is not None else None

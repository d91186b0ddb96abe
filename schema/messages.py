"""Lines in the candidate's 消息提醒 / 反馈意见 area."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import ReviewMessage as MessageRow
from resolvers.notifications import sms_of
from schema.enums import MessageKind, ReviewStatus
from schema.errors import UserError
from schema.notifications import SmsState


@strawberry.type(name="ReviewMessage", description="A line in the candidate's 消息提醒 / 反馈意见 area.")
class ReviewMessage:
    row: strawberry.Private[MessageRow]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field
    def kind(self) -> MessageKind:
        return self.row.kind

    @strawberry.field
    def body(self) -> str:
        return self.row.body

    @strawberry.field(description="Display name of the examiner, or 系统 for the service.")
    def author_name(self) -> str:
        return self.row.author_name

    @strawberry.field
    def created_at(self) -> datetime:
        return self.row.created_at

    @strawberry.field
    def read_at(self) -> datetime | None:
        return self.row.read_at

    @strawberry.field(description="The SMS about this message; null when none was due (no phone, or the candidate's own action).")
    async def sms(self) -> SmsState | None:
        row = await sms_of(self.row)
        return SmsState(row=row) if row is not None else None


@strawberry.type(
    description="Pushed to a candidate's open page when a message arrives or the status changes."
)
class ReviewEvent:
    message: ReviewMessage
    status: ReviewStatus
    locked: bool


@strawberry.type
class MessagePayload:
    message: ReviewMessage | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MarkReadPayload:
    unread_message_count: int
    errors: list[UserError] = strawberry.field(default_factory=list)

"""Lines in the candidate's 消息提醒 / 反馈意见 area, and their live feed."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from models import ReviewMessage as MessageRow
from models.enums import LOCKED_STATUSES
from resolvers import messages
from resolvers.notifications import sms_of
from schema.enums import MessageKind, ReviewStatus
from schema.errors import Payload, UserError, payload_mutation
from schema.notifications import SmsState
from schema.permissions import IsCandidate


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
class MessagePayload(Payload):
    message: ReviewMessage | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class MarkReadPayload(Payload):
    unread_message_count: int
    errors: list[UserError] = strawberry.field(default_factory=list)

    @classmethod
    async def refused(cls, errors: list[UserError], ctx: Context) -> MarkReadPayload:
        # The count is required even when nothing was marked: the candidate's current one.
        return cls(unread_message_count=await messages.own_unread_count(ctx), errors=errors)


@strawberry.type
class MessageMutation:
    @payload_mutation(
        "Mark the candidate's own messages read; all of them when ids is omitted (CANDIDATE).",
        [IsCandidate],
    )
    async def mark_messages_read(
        self, info: Info[Context, Any], ids: list[strawberry.ID] | None = None
    ) -> MarkReadPayload:
        unread = await messages.mark_messages_read(info.context, ids)
        return MarkReadPayload(unread_message_count=unread)


@strawberry.type
class MessageSubscription:
    @strawberry.subscription(
        description="The signed-in candidate's new messages and status changes, live (CANDIDATE).",
        permission_classes=[IsCandidate],
    )
    async def review_events(self, info: Info[Context, Any]) -> AsyncGenerator[ReviewEvent, None]:
        async for event in messages.review_events(info.context):
            yield ReviewEvent(
                message=ReviewMessage(row=event.message),
                status=event.status,
                locked=event.status in LOCKED_STATUSES,
            )

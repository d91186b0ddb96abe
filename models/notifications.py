"""The outbox: SMS and webhooks written with the change that causes them, sent afterwards."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.accounts import Candidate
from models.materials import Attachment
from models.review import ReviewMessage


class OutboxKind(StrEnum):
    SMS = "SMS"
    WEBHOOK = "WEBHOOK"


class OutboxStatus(StrEnum):
    QUEUED = "QUEUED"
    SENT = "SENT"
    FAILED = "FAILED"
    DROPPED = "DROPPED"


class OutboxMessage(Model):
    """One SMS or webhook call. Written in the same transaction as the change it reports.

    A sender claims a row by setting lease_until with a conditional UPDATE, so one row is
    handled by exactly one worker at a time.
    """

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(OutboxKind, max_length=16)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.QUEUED)
    candidate: fields.ForeignKeyNullableRelation[Candidate] = fields.ForeignKeyField(
        "models.Candidate", related_name=False, null=True, on_delete=fields.CASCADE
    )
    # A phone number for SMS, an endpoint URL for webhooks.
    target = fields.CharField(max_length=500)
    body = fields.TextField()
    idempotency_key = fields.CharField(max_length=64, unique=True)
    notice_count = fields.IntField(default=1)
    drop_if_read = fields.BooleanField(default=False)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    lease_until = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(max_length=64, null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    dropped_at = fields.DatetimeField(null=True)

    candidate_id: int | None

    class Meta:
        table = "outbox_message"
        indexes = (("status", "next_attempt_at"), ("kind", "target", "status"))


class SmsNotice(Model):
    """Which SMS tells the candidate of a message. Several messages may share one SMS."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    outbox: fields.ForeignKeyRelation[OutboxMessage] = fields.ForeignKeyField(
        "models.OutboxMessage", related_name="notices", on_delete=fields.CASCADE
    )
    message: fields.OneToOneRelation[ReviewMessage] = fields.OneToOneField(
        "models.ReviewMessage", related_name="sms_notice", on_delete=fields.CASCADE
    )

    outbox_id: int
    message_id: int

    class Meta:
        table = "sms_notice"


class AttachmentReasons(Model):
    """The reason codes an examiner gave with the last verdict on a picture."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    attachment: fields.OneToOneRelation[Attachment] = fields.OneToOneField(
        "models.Attachment", related_name="reasons", on_delete=fields.CASCADE
    )
    codes: list[str] = fields.JSONField(default=list)
    at = fields.DatetimeField()

    attachment_id: str

    class Meta:
        table = "attachment_reasons"

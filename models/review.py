"""Messages to the candidate, and the append-only audit log."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.accounts import Candidate
from models.enums import AuditAction, MessageKind, ReviewStatus, Role


class ReviewMessage(Model):
    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    candidate: fields.ForeignKeyRelation[Candidate] = fields.ForeignKeyField(
        "models.Candidate", related_name="messages", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(MessageKind, max_length=16)
    body = fields.TextField()
    author_name = fields.CharField(max_length=100)
    author_staff_id = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    candidate_id: int

    class Meta:
        table = "review_message"
        indexes = (("candidate_id", "id"),)


class AuditEntry(Model):
    """Written in the same transaction as the change it records. Never updated."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    candidate: fields.ForeignKeyRelation[Candidate] = fields.ForeignKeyField(
        "models.Candidate", related_name="audit", on_delete=fields.RESTRICT
    )
    action = fields.CharEnumField(AuditAction, max_length=16)
    actor_role = fields.CharEnumField(Role, max_length=16, null=True)
    actor_id = fields.IntField(null=True)
    actor_name = fields.CharField(max_length=100)
    from_status = fields.CharEnumField(ReviewStatus, max_length=16)
    to_status = fields.CharEnumField(ReviewStatus, max_length=16)
    note = fields.TextField(null=True)
    attachment_id = fields.CharField(max_length=36, null=True)
    at = fields.DatetimeField()
    # The candidate's region and site when it happened: a site's pace of decisions is one
    # index range (queue position), without reading the candidates.
    region = fields.CharField(max_length=64, null=True)
    site = fields.CharField(max_length=64, null=True)

    candidate_id: int

    class Meta:
        table = "audit_entry"
        indexes = (("candidate_id", "id"), ("region", "site", "action", "at"))

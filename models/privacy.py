"""Personal-data duties: who opened which original picture, and what the retention purge removed."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.accounts import Candidate, StaffUser
from models.enums import Role


class PictureAccess(Model):
    """One opening of an original picture by a member of staff. Written in batches, never updated.

    The attachment is named, not referenced: the record outlives a deleted or purged picture.
    """

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.BigIntField(primary_key=True)
    candidate: fields.ForeignKeyRelation[Candidate] = fields.ForeignKeyField(
        "models.Candidate", related_name=False, on_delete=fields.CASCADE
    )
    attachment_id = fields.UUIDField()
    category_id = fields.IntField()
    staff: fields.ForeignKeyRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", related_name=False, on_delete=fields.RESTRICT
    )
    # As they were at the opening, like the audit's actor.
    viewer_name = fields.CharField(max_length=100)
    viewer_role = fields.CharEnumField(Role, max_length=16)
    at = fields.DatetimeField()

    candidate_id: int
    staff_id: int

    class Meta:
        table = "picture_access"
        indexes = (("candidate_id", "at"),)


class RetentionPurge(Model):
    """What the retention purge removed from one decided candidate. Its row marks the job done.

    Decisions, messages and the audit log stay; so do these counts of what was there.
    """

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    candidate: fields.OneToOneRelation[Candidate] = fields.OneToOneField(
        "models.Candidate", related_name=False, on_delete=fields.CASCADE
    )
    decided_at = fields.DatetimeField()
    purged_at = fields.DatetimeField()
    # Category code -> pictures removed (originals, each with its thumbnail).
    pictures: dict[str, int] = fields.JSONField(default=dict)
    picture_count = fields.IntField(default=0)
    byte_count = fields.BigIntField(default=0)
    phone_removed = fields.BooleanField(default=False)
    address_removed = fields.BooleanField(default=False)

    candidate_id: int

    class Meta:
        table = "retention_purge"

"""What a registration asks for, and the pictures sent for it."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.accounts import Candidate
from models.enums import AttachmentVerdict


class MaterialCategory(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=100)
    instructions = fields.TextField(default="")
    example_key = fields.CharField(max_length=255, null=True)
    example_content_type = fields.CharField(max_length=32, null=True)
    min_count = fields.IntField(default=1)
    max_count = fields.IntField(default=1)
    max_bytes = fields.IntField(default=204800)
    formats: list[str] = fields.JSONField(default=["jpeg", "png"])
    position = fields.IntField(default=0)

    class Meta:
        table = "material_category"
        ordering = ("position", "id")


class RequirementRule(Model):
    """A category applies where a rule matches region, site and exam category ('*' = any)."""

    id = fields.IntField(primary_key=True)
    category: fields.ForeignKeyRelation[MaterialCategory] = fields.ForeignKeyField(
        "models.MaterialCategory", related_name="rules", on_delete=fields.CASCADE
    )
    region = fields.CharField(max_length=64, default="*")
    site = fields.CharField(max_length=64, default="*")
    exam_category_code = fields.CharField(max_length=32, default="*")
    required = fields.BooleanField(default=True)

    category_id: int

    class Meta:
        table = "requirement_rule"
        unique_together = (("category", "region", "site", "exam_category_code"),)

    def matches(self, candidate: Candidate) -> bool:
        return (
            self.region in ("*", candidate.region)
            and self.site in ("*", candidate.site)
            and self.exam_category_code in ("*", candidate.exam_category_code)
        )


class Attachment(Model):
    id = fields.UUIDField(primary_key=True)
    candidate: fields.ForeignKeyRelation[Candidate] = fields.ForeignKeyField(
        "models.Candidate", related_name="attachments", on_delete=fields.CASCADE
    )
    category: fields.ForeignKeyRelation[MaterialCategory] = fields.ForeignKeyField(
        "models.MaterialCategory", related_name="attachments", on_delete=fields.RESTRICT
    )
    # The slot within the category; the unique key makes a full category race-proof.
    slot = fields.IntField()
    storage_key = fields.CharField(max_length=255)
    thumbnail_key = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=32)
    byte_size = fields.IntField()
    width = fields.IntField()
    height = fields.IntField()
    orientation = fields.IntField(default=1)
    sha256 = fields.CharField(max_length=64)
    uploaded_at = fields.DatetimeField()
    verdict = fields.CharEnumField(
        AttachmentVerdict, max_length=24, default=AttachmentVerdict.PENDING
    )
    verdict_note = fields.CharField(max_length=500, null=True)
    verdict_at = fields.DatetimeField(null=True)

    candidate_id: int
    category_id: int

    class Meta:
        table = "attachment"
        unique_together = (("candidate", "category", "slot"),)
        ordering = ("slot",)

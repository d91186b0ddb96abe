"""What a registration asks for, and the pictures sent for it."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.accounts import Candidate
from models.enums import AttachmentVerdict


class MaterialCategory(Model):
    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

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
    # QualityWarning names this category refuses (POOR_QUALITY) instead of only warning about;
    # null (as for categories made before this existed) refuses none.
    refuse_warnings: list[str] | None = fields.JSONField(null=True)

    class Meta:
        table = "material_category"
        ordering = ("position", "id")


class RequirementRule(Model):
    """A category applies where a rule matches region, site and exam category ('*' = any)."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

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
    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

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
    # Measured at upload (storage/measures.py); null for pictures stored before that existed.
    sharpness = fields.FloatField(null=True)
    brightness = fields.FloatField(null=True)
    glare = fields.FloatField(null=True)
    quality_warnings: list[str] | None = fields.JSONField(null=True)

    candidate_id: int
    category_id: int

    class Meta:
        table = "attachment"
        unique_together = (("candidate", "category", "slot"),)
        ordering = ("slot",)


class PictureFingerprint(Model):
    """The perceptual hash of every stored picture, kept after the picture is deleted.

    No foreign key to the attachment: the row outlives it, with its owner, category and the
    examiner's verdict, so a picture once asked to be replaced is recognised when it comes back.
    """

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    attachment_id = fields.UUIDField(unique=True)
    candidate: fields.ForeignKeyRelation[Candidate] = fields.ForeignKeyField(
        "models.Candidate", related_name=False, on_delete=fields.CASCADE
    )
    category: fields.ForeignKeyRelation[MaterialCategory] = fields.ForeignKeyField(
        "models.MaterialCategory", related_name=False, on_delete=fields.RESTRICT
    )
    # The 64-bit hash as a signed integer (both engines store 64-bit integers signed).
    phash = fields.BigIntField()
    # The hash dealt into three blocks (bit i into block i mod 3, 22/21/21 bits): two hashes
    # within distance 8 agree on at least one block up to two bits (resolvers/lookalikes.py).
    block0 = fields.IntField()
    block1 = fields.IntField()
    block2 = fields.IntField()
    verdict = fields.CharEnumField(AttachmentVerdict, max_length=24, default=AttachmentVerdict.PENDING)
    # When an examiner first asked for it to be replaced; never cleared.
    replacement_asked_at = fields.DatetimeField(null=True)
    uploaded_at = fields.DatetimeField()
    deleted_at = fields.DatetimeField(null=True)

    candidate_id: int
    category_id: int

    class Meta:
        table = "picture_fingerprint"
        # The exact-match index, and one per block that holds what the distance check needs
        # (the search reads only the index).
        indexes = (
            ("candidate_id", "replacement_asked_at"),
            ("phash",),
            ("block0", "phash", "id"),
            ("block1", "phash", "id"),
            ("block2", "phash", "id"),
        )


class LookalikePair(Model):
    """Two pictures of different candidates within the look-alike distance, once per direction.

    Found when the later one is uploaded, so reading a picture's look-alikes is one index range.
    """

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    attachment_id = fields.UUIDField()
    other_attachment_id = fields.UUIDField()
    distance = fields.SmallIntField()

    class Meta:
        table = "lookalike_pair"
        unique_together = (("attachment_id", "other_attachment_id"),)

"""Per-region policy: SMS texts, hold-and-drop, and the reply deadline."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class RegionPolicy(Model):
    """Overrides for one region (考区). A missing row or a null field means the default."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    region = fields.CharField(max_length=64, unique=True)
    # Placeholders: {name} {admission_no} {region} {site} {hours}
    sms_template = fields.TextField(null=True)
    sms_approval_template = fields.TextField(null=True)
    # Hold an SMS this long and drop it when the candidate read the message meanwhile (0 = off).
    sms_hold_minutes = fields.IntField(default=0)
    reply_hours = fields.IntField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "region_policy"

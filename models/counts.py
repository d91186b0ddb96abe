"""How many candidates each region, site and status holds, kept by the database itself.

Triggers on the candidate table (migration 0007_queue_counts) change a row here in the same
transaction as every insert, delete and change of status, region, site or first review, so a
count commits or rolls back with the change it counts. Reading a scope's counts is a few rows,
not a scan of its candidates.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import ReviewStatus


class QueueCount(Model):
    """Candidates per region, site and status. Written only by the candidate triggers."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    region = fields.CharField(max_length=64)
    site = fields.CharField(max_length=64)
    status = fields.CharEnumField(ReviewStatus, max_length=16)
    n = fields.IntField(default=0)
    # Of those, how many have had a first decision (first_review_seconds set).
    reviewed = fields.IntField(default=0)

    class Meta:
        table = "queue_count"
        unique_together = (("region", "site", "status"),)

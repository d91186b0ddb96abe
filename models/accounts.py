"""Who signs in: candidates (imported from the registration system) and staff."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import LOCKED_STATUSES, ReviewStatus, Role


class Candidate(Model):
    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    name = fields.CharField(max_length=100)
    admission_no = fields.CharField(max_length=64, unique=True)
    exam_category_code = fields.CharField(max_length=32)
    exam_category_name = fields.CharField(max_length=100)
    region = fields.CharField(max_length=64)
    site = fields.CharField(max_length=64)
    stage = fields.CharField(max_length=32)
    registered_at = fields.DatetimeField()
    activated_at = fields.DatetimeField(null=True)
    phone = fields.CharField(max_length=20, null=True)
    address = fields.CharField(max_length=200, null=True)
    status = fields.CharEnumField(ReviewStatus, max_length=16, default=ReviewStatus.DRAFT)
    submitted_at = fields.DatetimeField(null=True)
    returned_at = fields.DatetimeField(null=True)
    reply_deadline = fields.DatetimeField(null=True)
    # Category ids a return unlocked; null while no return is in force or when it unlocked all.
    unlocked_category_ids: list[int] | None = fields.JSONField(null=True)
    # Keyset for the examiners' queue: the last submission, or registration before one.
    queue_at = fields.DatetimeField()
    # The review claim: who is reviewing a SUBMITTED candidate, until when (lapses by itself).
    claim_staff: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", null=True, on_delete=fields.SET_NULL, related_name=False
    )
    claimed_at = fields.DatetimeField(null=True)
    claim_expires_at = fields.DatetimeField(null=True)
    # For the review statistics: the first submission (never moved by a resubmission) and the
    # seconds from it to the first decision, set once at that decision.
    first_submitted_at = fields.DatetimeField(null=True)
    first_review_seconds = fields.FloatField(null=True)

    claim_staff_id: int | None
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "candidate"
        # Keysets of the queue: by site, by region, and nationwide (staff whose region is '*').
        indexes = (
            ("region", "site", "status", "queue_at", "id"),
            ("region", "status", "queue_at", "id"),
            ("status", "queue_at", "id"),
            # Medians of the first review as index ranges: per site, per region, nationwide.
            ("region", "site", "first_review_seconds"),
            ("region", "first_review_seconds"),
            ("first_review_seconds",),
            # Live claims (the monitoring gauge): the few unexpired ones, not every waiting row.
            ("claim_expires_at",),
            # Overdue returns (reviewStats, the overdue queue): the few past their deadline.
            ("region", "site", "status", "reply_deadline"),
            ("region", "status", "reply_deadline"),
            ("status", "reply_deadline"),
        )

    @property
    def locked(self) -> bool:
        return self.status in LOCKED_STATUSES

    @property
    def profile_complete(self) -> bool:
        return bool(self.phone) and bool(self.address)

    def category_unlocked(self, category_id: int) -> bool:
        """Whether pictures of this category may change now (DESIGN: locks after a return)."""
        if self.status == ReviewStatus.DRAFT:
            return True
        if self.status == ReviewStatus.RETURNED:
            return self.unlocked_category_ids is None or category_id in self.unlocked_category_ids
        return False


class StaffUser(Model):
    """An examiner or an admin. Scope: a region ('*' for all) and optionally a site."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    password_hash = fields.CharField(max_length=255)
    name = fields.CharField(max_length=100)
    role = fields.CharEnumField(Role, max_length=16)
    region = fields.CharField(max_length=64)
    site = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff_user"


class Session(Model):
    """A signed-in session. The token names it, so logout can revoke it everywhere."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.CharField(max_length=43, primary_key=True)
    role = fields.CharEnumField(Role, max_length=16)
    candidate: fields.ForeignKeyNullableRelation[Candidate] = fields.ForeignKeyField(
        "models.Candidate", null=True, on_delete=fields.CASCADE, related_name=False
    )
    staff: fields.ForeignKeyNullableRelation[StaffUser] = fields.ForeignKeyField(
        "models.StaffUser", null=True, on_delete=fields.CASCADE, related_name=False
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(db_index=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "session"


class LoginFailure(Model):
    """One failed sign-in, counted by username and by client address."""

    _no_comments = True  # spares Tortoise a parse of this file for field comments (none here)

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64)
    address = fields.CharField(max_length=64)
    at = fields.DatetimeField()

    class Meta:
        table = "login_failure"
        indexes = (("username", "at"), ("address", "at"))

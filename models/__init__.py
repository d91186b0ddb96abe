"""Tortoise models; the app label is "models" and migrations live in models.migrations."""

# Model docstrings become table comments, and the SQLite schema editor splits statements on
# ";": keep semicolons out of them.

from models.accounts import Candidate, LoginFailure, Session, StaffUser
from models.counts import QueueCount
from models.materials import (
    Attachment,
    LookalikePair,
    MaterialCategory,
    PictureFingerprint,
    RequirementRule,
)
from models.notifications import AttachmentReasons, OutboxMessage, SmsNotice
from models.privacy import PictureAccess, RetentionPurge
from models.regions import RegionPolicy
from models.review import AuditEntry, ReviewMessage

__models__ = [
    Candidate,
    StaffUser,
    Session,
    LoginFailure,
    MaterialCategory,
    RequirementRule,
    Attachment,
    ReviewMessage,
    AuditEntry,
    OutboxMessage,
    SmsNotice,
    AttachmentReasons,
    RegionPolicy,
    PictureAccess,
    RetentionPurge,
    QueueCount,
    PictureFingerprint,
    LookalikePair,
]

__all__ = [
    "Attachment",
    "AttachmentReasons",
    "AuditEntry",
    "Candidate",
    "LoginFailure",
    "LookalikePair",
    "MaterialCategory",
    "OutboxMessage",
    "PictureAccess",
    "PictureFingerprint",
    "QueueCount",
    "RegionPolicy",
    "RequirementRule",
    "RetentionPurge",
    "ReviewMessage",
    "Session",
    "SmsNotice",
    "StaffUser",
]

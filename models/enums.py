"""Enumerations shared by the models and the GraphQL schema."""

from enum import StrEnum


class ReviewStatus(StrEnum):
    DRAFT = "DRAFT"
    SUBMITTED = "SUBMITTED"
    RETURNED = "RETURNED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


LOCKED_STATUSES = frozenset({ReviewStatus.SUBMITTED, ReviewStatus.APPROVED, ReviewStatus.REJECTED})


class Role(StrEnum):
    CANDIDATE = "CANDIDATE"
    EXAMINER = "EXAMINER"
    ADMIN = "ADMIN"


class MessageKind(StrEnum):
    SYSTEM = "SYSTEM"
    FEEDBACK = "FEEDBACK"
    RETURNED = "RETURNED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class AttachmentVerdict(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    NEEDS_REPLACEMENT = "NEEDS_REPLACEMENT"


class AuditAction(StrEnum):
    SUBMIT = "SUBMIT"
    RETURN = "RETURN"
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    UPLOAD = "UPLOAD"
    DELETE = "DELETE"
    VERDICT = "VERDICT"
    FEEDBACK = "FEEDBACK"
    PROFILE = "PROFILE"
    ACTIVATE = "ACTIVATE"

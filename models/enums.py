"""Enumerations shared by every layer: the models, the picture checks and the GraphQL schema."""

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


class QualityWarning(StrEnum):
    """What the upload gate may warn about on a picture (storage/measures.py)."""

    BLURRY = "BLURRY"
    TOO_DARK = "TOO_DARK"
    OVEREXPOSED = "OVEREXPOSED"
    GLARE = "GLARE"


class ErrorCode(StrEnum):
    """What a person can fix; every refusal in a payload carries one."""

    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    RATE_LIMITED = "RATE_LIMITED"
    LOCKED = "LOCKED"
    CATEGORY_FULL = "CATEGORY_FULL"
    CATEGORY_NOT_APPLICABLE = "CATEGORY_NOT_APPLICABLE"
    UNSUPPORTED_FORMAT = "UNSUPPORTED_FORMAT"
    FILE_TOO_LARGE = "FILE_TOO_LARGE"
    NOT_AN_IMAGE = "NOT_AN_IMAGE"
    IMAGE_TOO_SMALL = "IMAGE_TOO_SMALL"
    REQUIRED_MATERIAL_MISSING = "REQUIRED_MATERIAL_MISSING"
    PROFILE_INCOMPLETE = "PROFILE_INCOMPLETE"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_STATE = "INVALID_STATE"
    NOT_FOUND = "NOT_FOUND"
    CLAIMED_BY_OTHER = "CLAIMED_BY_OTHER"
    SAME_AS_REJECTED = "SAME_AS_REJECTED"
    POOR_QUALITY = "POOR_QUALITY"

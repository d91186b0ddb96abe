"""The enums of the public contract: the models' own enums, registered with Strawberry."""

import strawberry

from core.errors import ErrorCode
from models.enums import AttachmentVerdict, MessageKind, QualityWarning, ReviewStatus, Role

strawberry.enum(ReviewStatus, description="Where a candidate's materials stand in review.")
strawberry.enum(Role)
strawberry.enum(MessageKind)
strawberry.enum(AttachmentVerdict)
strawberry.enum(ErrorCode)
strawberry.enum(QualityWarning, description="What the upload gate measured on a picture and may warn about.")

__all__ = ["AttachmentVerdict", "ErrorCode", "MessageKind", "QualityWarning", "ReviewStatus", "Role"]

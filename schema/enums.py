"""The enums of the public contract: the models' own enums, registered with Strawberry."""

import strawberry

from core.errors import ErrorCode
from models.enums import AttachmentVerdict, MessageKind, ReviewStatus, Role

strawberry.enum(ReviewStatus, description="Where a candidate's materials stand in review.")
strawberry.enum(Role)
strawberry.enum(MessageKind)
strawberry.enum(AttachmentVerdict)
strawberry.enum(ErrorCode)

__all__ = ["AttachmentVerdict", "ErrorCode", "MessageKind", "ReviewStatus", "Role"]

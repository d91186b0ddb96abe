"""Who may call what: roles are checked here, scope inside the resolvers."""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

from core.context import Context
from models.enums import Role
from resolvers.auth import require_candidate, require_staff


class IsCandidate(BasePermission):
    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        require_candidate(info.context)  # raises UNAUTHENTICATED or FORBIDDEN
        return True


class IsExaminer(BasePermission):
    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        require_staff(info.context, Role.EXAMINER)
        return True


class IsStaff(BasePermission):
    """Examiners and admins: read access to candidates in scope."""

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        require_staff(info.context, Role.EXAMINER, Role.ADMIN)
        return True


class IsAdmin(BasePermission):
    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        require_staff(info.context, Role.ADMIN)
        return True


class IsSignedIn(BasePermission):
    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        from resolvers.auth import require_viewer

        require_viewer(info.context)
        return True

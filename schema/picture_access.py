"""Who opened a candidate's original pictures (ADMIN)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from core.context import Context
from models import PictureAccess as AccessRow
from resolvers import picture_access
from schema.enums import Role
from schema.permissions import IsAdmin


@strawberry.type(description="One opening of an original picture by a member of staff.")
class PictureAccess:
    at: datetime
    viewer_name: str
    viewer_role: Role
    attachment_id: strawberry.ID
    category_name: str


@strawberry.type
class PictureAccessQuery:
    @strawberry.field(
        description="Openings of this candidate's original pictures by staff, newest first (ADMIN).",
        permission_classes=[IsAdmin],
    )
    async def picture_access_log(
        self, info: Info[Context, Any], candidate_id: strawberry.ID, first: int | None = 50
    ) -> list[PictureAccess]:
        rows: list[AccessRow] = await picture_access.access_log_of(
            info.context, candidate_id, 50 if first is None else first
        )
        categories = (await info.context.catalog()).categories
        return [
            PictureAccess(
                at=row.at,
                viewer_name=row.viewer_name,
                viewer_role=row.viewer_role,
                attachment_id=strawberry.ID(str(row.attachment_id)),
                category_name=categories[row.category_id].name if row.category_id in categories else "",
            )
            for row in rows
        ]

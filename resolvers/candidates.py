"""Finding a candidate: the signed-in one, or one in a member of staff's scope.

Out of scope looks exactly like absent: both answer None.
"""

from __future__ import annotations

from core.context import Context
from core.ids import parse_int_id
from models import Candidate
from models.enums import Role
from resolvers.auth import require_candidate, require_scope


def me(ctx: Context) -> Candidate:
    return require_candidate(ctx)


async def candidate_for_staff(ctx: Context, candidate_id: str) -> Candidate | None:
    scope = require_scope(ctx, Role.EXAMINER, Role.ADMIN)
    pk = parse_int_id(candidate_id)
    if pk is None:
        return None
    return await Candidate.filter(scope.filter(), id=pk).first()


async def candidate_by_admission_no(ctx: Context, admission_no: str) -> Candidate | None:
    scope = require_scope(ctx, Role.EXAMINER, Role.ADMIN)
    return await Candidate.filter(scope.filter(), admission_no=admission_no.strip()).first()

"""Review claims: who reviews a SUBMITTED candidate now, so two examiners never decide one at once.

A claim is three columns of the candidate row (holder, since, until); it lapses by itself when
`until` passes, and an expired claim is no claim anywhere. Every change to a claim happens inside
the candidate's row lock, like the decisions that check it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core.clock import local_text, utcnow
from core.context import Context
from core.errors import ErrorCode, Rejected, not_found
from core.ids import parse_int_id
from core.scope import Scope
from models import Candidate, StaffUser
from models.enums import ReviewStatus, Role
from resolvers.auth import require_staff
from resolvers.events import publish_queue_event
from resolvers.locking import candidate_for_update

log = logging.getLogger(__name__)

STATUS_WORDS = {
    ReviewStatus.DRAFT: "未提交",
    ReviewStatus.SUBMITTED: "已提交",
    ReviewStatus.RETURNED: "已退回",
    ReviewStatus.APPROVED: "审核通过",
    ReviewStatus.REJECTED: "审核不通过",
}
# PostgreSQL: rounds of "skip what is locked, else wait for it"; each lost round means another
# examiner claimed someone, so the queue moved on.
CLAIM_NEXT_ROUNDS = 100


@dataclass(frozen=True)
class ClaimView:
    examiner_name: str
    mine: bool
    claimed_at: datetime
    expires_at: datetime


def live_holder(candidate: Candidate, now: datetime) -> int | None:
    """The id of the staff member whose claim on the candidate is live; None when nobody's is."""
    holder: int | None = candidate.claim_staff_id
    if holder is None or candidate.claim_expires_at is None:
        return None
    if candidate.status != ReviewStatus.SUBMITTED or candidate.claim_expires_at <= now:
        return None
    return holder


def _claim_length(ctx: Context) -> timedelta:
    return timedelta(minutes=ctx.services.settings.review_claim_minutes)


async def _staff_name(staff_id: int | None) -> str:
    names = await StaffUser.filter(id=staff_id).values_list("name", flat=True)
    return str(names[0]) if names else "其他考务人员"


async def _held_by_other(ctx: Context, candidate: Candidate, field: str, ending: str) -> Rejected:
    name = await _staff_name(candidate.claim_staff_id)
    until = local_text(candidate.claim_expires_at, ctx.services.tz)  # type: ignore[arg-type]
    return Rejected.one(
        ErrorCode.CLAIMED_BY_OTHER,
        f"该考生正由{name}审核（认领至 {until}，北京时间），{ending}",
        field,
    )


async def refuse_if_claimed_by_other(
    ctx: Context, candidate: Candidate, staff: StaffUser, field: str = "candidateId"
) -> None:
    """For decisions, inside the candidate's row lock: another examiner's live claim refuses them."""
    holder = live_holder(candidate, utcnow())
    if holder is not None and holder != staff.id:
        raise await _held_by_other(ctx, candidate, field, "请选择其他考生，或等其审核完毕。")


def end_claim(candidate: Candidate) -> None:
    """A final decision ends the claim; the caller saves the row inside its lock."""
    candidate.claim_staff_id = None
    candidate.claimed_at = None
    candidate.claim_expires_at = None


async def renew_own_claim(ctx: Context, candidate: Candidate, staff: StaffUser) -> bool:
    """Inside the row lock: extend the caller's own live claim (a verdict shows they are at work)."""
    now = utcnow()
    if live_holder(candidate, now) != staff.id:
        return False
    candidate.claim_expires_at = now + _claim_length(ctx)
    await Candidate.filter(id=candidate.id).update(claim_expires_at=candidate.claim_expires_at)
    return True


async def claim_of(ctx: Context, candidate: Candidate) -> ClaimView | None:
    """The claim as the caller sees it: staff only (a candidate never sees claims), live ones only."""
    viewer = ctx.viewer
    if viewer is None or viewer.staff is None:
        return None
    holder = live_holder(candidate, utcnow())
    claimed_at, expires_at = candidate.claimed_at, candidate.claim_expires_at
    if holder is None or claimed_at is None or expires_at is None:
        return None
    return ClaimView(
        examiner_name=await _staff_name(holder),
        mine=holder == viewer.staff.id,
        claimed_at=claimed_at,
        expires_at=expires_at,
    )


async def _candidate_in_scope(staff: StaffUser, candidate_id: str) -> Candidate:
    pk = parse_int_id(candidate_id)
    candidate = await Candidate.filter(Scope.of(staff).filter(), id=pk).first() if pk else None
    if candidate is None:
        raise not_found("考生", "candidateId")
    return candidate


def _take(candidate: Candidate, staff: StaffUser, now: datetime, length: timedelta) -> None:
    """Claim for `staff` until now + length; a renewal keeps when the claim began."""
    if live_holder(candidate, now) != staff.id:
        candidate.claimed_at = now
    candidate.claim_staff_id = staff.id
    candidate.claim_expires_at = now + length


async def _save_claim(candidate: Candidate) -> None:
    await Candidate.filter(id=candidate.id).update(
        claim_staff_id=candidate.claim_staff_id,
        claimed_at=candidate.claimed_at,
        claim_expires_at=candidate.claim_expires_at,
    )


async def claim_candidate(ctx: Context, candidate_id: str) -> Candidate:
    """Take, or renew, the claim on a SUBMITTED candidate in scope."""
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    candidate = await _candidate_in_scope(staff, candidate_id)
    async with candidate_for_update(candidate.id) as locked:
        if locked.status != ReviewStatus.SUBMITTED:
            raise Rejected.one(
                ErrorCode.INVALID_STATE,
                f"只有「已提交」的考生才能认领审核，该考生当前为「{STATUS_WORDS[locked.status]}」。",
                "candidateId",
            )
        now = utcnow()
        holder = live_holder(locked, now)
        if holder is not None and holder != staff.id:
            raise await _held_by_other(ctx, locked, "candidateId", "请选择其他考生。")
        _take(locked, staff, now, _claim_length(ctx))
        await _save_claim(locked)
    await publish_queue_event(ctx.services, locked, now)
    return locked


async def _claim_first_free(
    area: Scope, staff: StaffUser, length: timedelta
) -> tuple[Candidate | None, bool]:
    """One atomic pick-and-claim: (the claimed candidate, or None and whether anyone waits)."""
    async with in_transaction() as connection:
        now = utcnow()
        free = Q(claim_expires_at__isnull=True) | Q(claim_expires_at__lte=now)
        waiting = Candidate.filter(area.filter(), free, status=ReviewStatus.SUBMITTED)
        first_waiting = waiting.order_by("queue_at", "id")
        if connection.capabilities.dialect == "sqlite":
            # SQLite ignores FOR UPDATE. A write that touches no row still takes its write lock, so
            # the pick and the claim below are one step for every process on the file.
            await Candidate.filter(id=-1).update(claim_expires_at=None)
            row = await first_waiting.first()
        else:
            row = await first_waiting.select_for_update(skip_locked=True).first()
            if row is None:
                # SKIP LOCKED also passes over rows locked for other reasons (a verdict, a
                # message, a profile change): wait for the first one rather than answer "nobody".
                row = await first_waiting.select_for_update().first()
        if row is None:
            return None, await waiting.exists()
        _take(row, staff, now, length)
        await _save_claim(row)
        return row, True


async def claim_next(ctx: Context, site: str | None) -> Candidate | None:
    """Claim the oldest SUBMITTED, unclaimed candidate in scope (optionally of one site)."""
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    area = Scope.of(staff).narrowed(None, site)
    if area is None:
        return None  # a site outside the scope holds nobody for this caller
    for _ in range(CLAIM_NEXT_ROUNDS):
        claimed, anyone_waiting = await _claim_first_free(area, staff, _claim_length(ctx))
        if claimed is not None:
            await publish_queue_event(ctx.services, claimed, claimed.claimed_at or utcnow())
            return claimed
        if not anyone_waiting:
            return None
    log.warning("claimNext gave up after %d contended rounds", CLAIM_NEXT_ROUNDS)
    return None


async def release_candidate(ctx: Context, candidate_id: str) -> Candidate:
    """Let go of one's own claim; an ADMIN may release anyone's in scope. Nothing held: no change."""
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    candidate = await _candidate_in_scope(staff, candidate_id)
    async with candidate_for_update(candidate.id) as locked:
        now = utcnow()
        holder = live_holder(locked, now)
        if holder is not None and holder != staff.id and staff.role != Role.ADMIN:
            raise await _held_by_other(
                ctx, locked, "candidateId", "只有认领人本人或管理员可以释放。"
            )
        if locked.claim_staff_id is not None or locked.claim_expires_at is not None:
            end_claim(locked)
            await _save_claim(locked)
    if holder is not None:
        await publish_queue_event(ctx.services, locked, now)
    return locked

"""A candidate's own actions (profile, 提交审核) and how staff find candidates."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count

from models import Attachment, Candidate, StaffUser
from models.enums import AuditAction, MessageKind, ReviewStatus, Role
from resolvers.auth import require_candidate, require_staff
from resolvers.common import (
    candidate_for_update,
    parse_int_id,
    post_message,
    publish_queue_event,
    publish_review_event,
    requirements_for,
    utcnow,
    write_audit,
)
from resolvers.errors import AccessError, ErrorCode, Problem, Rejected
from server.context import Context

_PHONE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits only: \d also matches full-width ones
_PHONE_NOISE = re.compile(r"[\s\-()]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ADDRESS_MAX = 200


def normalise_phone(raw: str) -> str:
    phone = _PHONE_NOISE.sub("", raw)
    for prefix in ("+86", "0086"):
        phone = phone.removeprefix(prefix)
    return phone


async def update_profile(ctx: Context, phone: str, address: str) -> Candidate:
    candidate = require_candidate(ctx)
    problems = []
    phone = normalise_phone(phone)
    if not _PHONE.match(phone):
        problems.append(
            Problem(ErrorCode.INVALID_PHONE, "手机号码应为 11 位大陆手机号，以 1 开头。", "phone")
        )
    address = " ".join(address.split())
    if not address:
        problems.append(Problem(ErrorCode.INVALID_INPUT, "请填写联系地址。", "address"))
    elif len(address) > ADDRESS_MAX:
        problems.append(
            Problem(
                ErrorCode.INVALID_INPUT,
                f"联系地址最多 {ADDRESS_MAX} 个字，目前 {len(address)} 个字。",
                "address",
            )
        )
    elif _CONTROL.search(address):
        problems.append(Problem(ErrorCode.INVALID_INPUT, "联系地址含有无法识别的字符。", "address"))
    if problems:
        raise Rejected(*problems)
    async with candidate_for_update(candidate.id) as locked:
        locked.phone, locked.address = phone, address
        await locked.save(update_fields=["phone", "address", "updated_at"])
        await write_audit(locked, AuditAction.PROFILE, ctx.viewer, locked.status)
    return locked


def format_lock_time(moment: datetime, ctx: Context) -> str:
    local = moment.astimezone(ctx.services.tz)
    return f"{local.year}/{local.month}/{local.day} {local:%H:%M:%S}"


async def submit_for_review(ctx: Context) -> Candidate:
    candidate = require_candidate(ctx)
    requirements = requirements_for(await ctx.catalog(), candidate)
    async with candidate_for_update(candidate.id) as locked:
        if locked.status not in (ReviewStatus.DRAFT, ReviewStatus.RETURNED):
            raise Rejected.one(ErrorCode.INVALID_STATE, _state_words(locked.status))
        problems: list[Problem] = []
        if not locked.phone:
            problems.append(Problem(ErrorCode.PROFILE_INCOMPLETE, "请先填写手机号码。", "phone"))
        if not locked.address:
            problems.append(Problem(ErrorCode.PROFILE_INCOMPLETE, "请先填写联系地址。", "address"))
        counts = dict(
            await Attachment.filter(candidate_id=locked.id)
            .annotate(n=Count("id"))
            .group_by("category_id")
            .values_list("category_id", "n")
        )
        for requirement in requirements:
            if not requirement.required:
                continue
            category = requirement.category
            need = max(category.min_count, 1)
            have = counts.get(category.id, 0)
            if have < need:
                problems.append(
                    Problem(
                        ErrorCode.REQUIRED_MATERIAL_MISSING,
                        f"「{category.name}」为必传材料，至少需要 {need} 张，目前 {have} 张。",
                        f"materials.{category.id}",
                    )
                )
        if problems:
            raise Rejected(*problems)
        now = utcnow()
        previous = locked.status
        locked.status = ReviewStatus.SUBMITTED
        locked.submitted_at = now
        locked.queue_at = now
        locked.unlocked_category_ids = None
        locked.reply_deadline = None
        await locked.save()
        message = await post_message(
            locked, MessageKind.SYSTEM, f"{format_lock_time(now, ctx)} 上报完成，内容已锁定。"
        )
        await write_audit(locked, AuditAction.SUBMIT, ctx.viewer, previous, ReviewStatus.SUBMITTED)
    await publish_review_event(ctx.services, locked, message)
    await publish_queue_event(ctx.services, locked, now)
    return locked


def _state_words(status: ReviewStatus) -> str:
    return {
        ReviewStatus.SUBMITTED: "材料已提交，正在审核中，内容已锁定。",
        ReviewStatus.APPROVED: "材料已审核通过，内容已锁定。",
        ReviewStatus.REJECTED: "材料审核未通过，内容已锁定。",
    }.get(status, "当前状态不能执行此操作。")


# Staff lookups: out of scope looks exactly like absent.


def scope_filter(staff: StaffUser) -> Q:
    query = Q()
    if staff.region != "*":
        query &= Q(region=staff.region)
    if staff.site is not None:
        query &= Q(site=staff.site)
    return query


async def candidate_for_staff(ctx: Context, candidate_id: str) -> Candidate | None:
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    pk = parse_int_id(candidate_id)
    if pk is None:
        return None
    return await Candidate.filter(scope_filter(staff), id=pk).first()


async def candidate_by_admission_no(ctx: Context, admission_no: str) -> Candidate | None:
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    return await Candidate.filter(scope_filter(staff), admission_no=admission_no.strip()).first()


class BadArgument(AccessError):
    code = "BAD_USER_INPUT"


@dataclass(frozen=True)
class QueuePage:
    candidates: list[Candidate]
    cursors: list[str]
    has_next_page: bool
    total_count: int


def _cursor(candidate: Candidate, by_deadline: bool = False) -> str:
    moment = candidate.reply_deadline if by_deadline and candidate.reply_deadline else candidate.queue_at
    raw = f"{moment.isoformat()}|{candidate.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, pk = raw.split("|")
        when, number = datetime.fromisoformat(moment), int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadArgument("after 不是有效的分页游标。") from exc
    # Our cursors carry an aware time and a row id; anything else is forged.
    if when.tzinfo is None or not 0 <= number < 2**63:
        raise BadArgument("after 不是有效的分页游标。")
    return when, number


async def review_queue(
    ctx: Context,
    statuses: list[ReviewStatus] | None,
    site: str | None,
    search: str | None,
    first: int,
    after: str | None,
    overdue: bool = False,
    by_deadline: bool = False,
) -> QueuePage:
    """Keyset pagination in the database: oldest submission first (or earliest deadline), then id.

    `overdue` keeps returns whose reply deadline has passed; `by_deadline` orders by the deadline
    and keeps only candidates that have one (those under a return).
    """
    staff = require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    if first < 1 or first > 100:
        raise BadArgument("first 应在 1 到 100 之间。")
    default = [ReviewStatus.RETURNED] if overdue or by_deadline else [ReviewStatus.SUBMITTED]
    query = Candidate.filter(scope_filter(staff), status__in=statuses or default)
    if overdue:
        query = query.filter(status=ReviewStatus.RETURNED, reply_deadline__lt=utcnow())
    key = "reply_deadline" if by_deadline else "queue_at"
    if by_deadline:
        query = query.filter(reply_deadline__isnull=False)
    if site:
        query = query.filter(site=site)
    if search and search.strip():
        text = search.strip()
        query = query.filter(
            Q(name__icontains=text) | Q(admission_no__icontains=text) | Q(username__icontains=text)
        )
    total = await query.count()
    if after:
        moment, pk = _read_cursor(after)
        later: dict[str, Any] = {f"{key}__gt": moment}
        same: dict[str, Any] = {key: moment, "id__gt": pk}
        # The leading bound (implied by the OR) lets the index start at the cursor: page 500
        # then costs what page 1 does instead of walking the 10,000 rows before it.
        bound: dict[str, Any] = {f"{key}__gte": moment}
        query = query.filter(Q(**bound), Q(**later) | Q(**same))
    rows = await query.order_by(key, "id").limit(first + 1)
    page = rows[:first]
    return QueuePage(
        candidates=page,
        cursors=[_cursor(c, by_deadline) for c in page],
        has_next_page=len(rows) > first,
        total_count=total,
    )

"""提交审核: check everything and lock it in one transaction, so no upload slips in between."""

from __future__ import annotations

from tortoise.functions import Count

from core.clock import local_text, utcnow
from core.context import Context
from core.errors import ErrorCode, Problem, Rejected
from models import Attachment, Candidate
from models.enums import AuditAction, MessageKind, ReviewStatus
from resolvers.audit import write_audit
from resolvers.auth import require_candidate
from resolvers.events import publish_queue_event, publish_review_event
from resolvers.locking import candidate_for_update
from resolvers.messages import post_message
from resolvers.requirements import Requirement, requirements_for


def lock_message(ctx: Context, candidate: Candidate) -> str:
    """The guide's words at the top of the page: `YYYY/M/D HH:MM:SS 上报完成，内容已锁定。`."""
    assert candidate.submitted_at is not None
    return f"{local_text(candidate.submitted_at, ctx.services.tz)} 上报完成，内容已锁定。"


def _state_words(status: ReviewStatus) -> str:
    return {
        ReviewStatus.SUBMITTED: "材料已提交，正在审核中，内容已锁定。",
        ReviewStatus.APPROVED: "材料已审核通过，内容已锁定。",
        ReviewStatus.REJECTED: "材料审核未通过，内容已锁定。",
    }.get(status, "当前状态不能执行此操作。")


async def _missing(candidate: Candidate, requirements: list[Requirement]) -> list[Problem]:
    problems: list[Problem] = []
    if not candidate.phone:
        problems.append(Problem(ErrorCode.PROFILE_INCOMPLETE, "请先填写手机号码。", "phone"))
    if not candidate.address:
        problems.append(Problem(ErrorCode.PROFILE_INCOMPLETE, "请先填写联系地址。", "address"))
    counts = dict(
        await Attachment.filter(candidate_id=candidate.id)
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
    return problems


async def submit_for_review(ctx: Context) -> Candidate:
    candidate = require_candidate(ctx)
    requirements = requirements_for(await ctx.catalog(), candidate)
    async with candidate_for_update(candidate.id) as locked:
        if locked.status not in (ReviewStatus.DRAFT, ReviewStatus.RETURNED):
            raise Rejected.one(ErrorCode.INVALID_STATE, _state_words(locked.status))
        if problems := await _missing(locked, requirements):
            raise Rejected(*problems)
        now = utcnow()
        previous = locked.status
        locked.status = ReviewStatus.SUBMITTED
        locked.submitted_at = now
        locked.first_submitted_at = locked.first_submitted_at or now
        locked.queue_at = now
        locked.unlocked_category_ids = None
        locked.reply_deadline = None
        await locked.save()
        posted = await post_message(locked, MessageKind.SYSTEM, lock_message(ctx, locked), at=now)
        await write_audit(locked, AuditAction.SUBMIT, ctx.viewer, previous, ReviewStatus.SUBMITTED)
    await publish_review_event(ctx.services, locked, posted.message, posted.previous_id)
    await publish_queue_event(ctx.services, locked, now)
    return locked

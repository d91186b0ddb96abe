"""What examiners do: return, approve, reject, write, and judge pictures."""

from __future__ import annotations

from datetime import timedelta

from models import Attachment, Candidate, ReviewMessage, StaffUser
from models.enums import AttachmentVerdict, AuditAction, MessageKind, ReviewStatus, Role
from resolvers.auth import require_staff
from resolvers.candidates import scope_filter
from resolvers.common import (
    candidate_for_update,
    parse_int_id,
    parse_uuid,
    post_message,
    publish_queue_event,
    publish_review_event,
    requirements_for,
    utcnow,
    write_audit,
)
from resolvers.errors import ErrorCode, Rejected, not_found
from resolvers.notifications import notify, reply_hours_for
from resolvers.verdicts import check_reasons, save_reasons
from server.context import Context

MESSAGE_MAX = 1000
NOTE_MAX = 500


def _text(value: str | None, field: str, what: str, limit: int, required: bool) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise Rejected.one(ErrorCode.INVALID_INPUT, f"请填写{what}。", field)
        return None
    if len(text) > limit:
        raise Rejected.one(
            ErrorCode.INVALID_INPUT, f"{what}最多 {limit} 个字，目前 {len(text)} 个字。", field
        )
    return text


async def _candidate_in_scope(staff: StaffUser, candidate_id: str) -> Candidate:
    pk = parse_int_id(candidate_id)
    candidate = await Candidate.filter(scope_filter(staff), id=pk).first() if pk else None
    if candidate is None:
        raise not_found("考生", "candidateId")
    return candidate


def _require_submitted(candidate: Candidate) -> None:
    if candidate.status != ReviewStatus.SUBMITTED:
        raise Rejected.one(
            ErrorCode.INVALID_STATE,
            f"只有「已提交」的考生才能审核，该考生当前状态为 {candidate.status.value}。",
            "candidateId",
        )


async def _decide(
    ctx: Context,
    staff: StaffUser,
    candidate: Candidate,
    to_status: ReviewStatus,
    action: AuditAction,
    kind: MessageKind,
    body: str,
    unlocked: list[int] | None = None,
) -> Candidate:
    """One transition out of SUBMITTED: state, message and audit in one transaction."""
    async with candidate_for_update(candidate.id) as locked:
        _require_submitted(locked)
        now = utcnow()
        locked.status = to_status
        if to_status == ReviewStatus.RETURNED:
            locked.returned_at = now
            hours = await reply_hours_for(locked.region, ctx.services.settings)
            locked.reply_deadline = now + timedelta(hours=hours)
            locked.unlocked_category_ids = unlocked
        await locked.save()
        message = await post_message(locked, kind, body, staff)
        await notify(ctx.services.settings, locked, message, staff)
        await write_audit(locked, action, staff, ReviewStatus.SUBMITTED, to_status, note=body)
    await publish_review_event(ctx.services, locked, message)
    await publish_queue_event(ctx.services, locked, now)
    return locked


async def return_for_correction(
    ctx: Context, candidate_id: str, message: str, category_ids: list[str] | None
) -> Candidate:
    staff = require_staff(ctx, Role.EXAMINER)
    candidate = await _candidate_in_scope(staff, candidate_id)
    body = _text(message, "message", "退回说明", MESSAGE_MAX, required=True)
    unlocked: list[int] | None = None
    if category_ids:
        applicable = {r.category.id for r in requirements_for(await ctx.catalog(), candidate)}
        unlocked = []
        for raw in category_ids:
            pk = parse_int_id(raw)
            if pk is None or pk not in applicable:
                raise Rejected.one(
                    ErrorCode.CATEGORY_NOT_APPLICABLE,
                    f"材料类别 {raw} 不属于该考生需要提交的材料。",
                    "categoryIds",
                )
            unlocked.append(pk)
        unlocked = sorted(set(unlocked))
    return await _decide(
        ctx, staff, candidate, ReviewStatus.RETURNED, AuditAction.RETURN,
        MessageKind.RETURNED, body or "", unlocked,
    )


async def approve_candidate(ctx: Context, candidate_id: str, message: str | None) -> Candidate:
    staff = require_staff(ctx, Role.EXAMINER)
    candidate = await _candidate_in_scope(staff, candidate_id)
    body = _text(message, "message", "审核意见", MESSAGE_MAX, required=False)
    return await _decide(
        ctx, staff, candidate, ReviewStatus.APPROVED, AuditAction.APPROVE,
        MessageKind.APPROVED, body or "您的报名材料已审核通过，无需其他操作。",
    )


async def reject_candidate(ctx: Context, candidate_id: str, reason: str) -> Candidate:
    staff = require_staff(ctx, Role.EXAMINER)
    candidate = await _candidate_in_scope(staff, candidate_id)
    body = _text(reason, "reason", "不通过的原因", MESSAGE_MAX, required=True)
    return await _decide(
        ctx, staff, candidate, ReviewStatus.REJECTED, AuditAction.REJECT,
        MessageKind.REJECTED, body or "",
    )


async def send_feedback(ctx: Context, candidate_id: str, body: str) -> ReviewMessage:
    staff = require_staff(ctx, Role.EXAMINER)
    candidate = await _candidate_in_scope(staff, candidate_id)
    text = _text(body, "body", "反馈内容", MESSAGE_MAX, required=True) or ""
    async with candidate_for_update(candidate.id) as locked:
        message = await post_message(locked, MessageKind.FEEDBACK, text, staff)
        await notify(ctx.services.settings, locked, message, staff)
        await write_audit(locked, AuditAction.FEEDBACK, staff, locked.status, note=text)
    await publish_review_event(ctx.services, locked, message)
    return message


async def set_attachment_verdict(
    ctx: Context,
    attachment_id: str,
    verdict: AttachmentVerdict,
    note: str | None,
    reasons: list[str] | None = None,
) -> tuple[Attachment, Candidate]:
    staff = require_staff(ctx, Role.EXAMINER)
    pk = parse_uuid(attachment_id)
    attachment = await Attachment.get_or_none(id=pk).select_related("candidate") if pk else None
    if attachment is None or not staff.covers(attachment.candidate):
        raise not_found("图片", "attachmentId")
    text = _text(note, "note", "备注", NOTE_MAX, required=False)
    codes = check_reasons(ctx.services.settings, reasons)
    async with candidate_for_update(attachment.candidate_id) as locked:
        _require_submitted(locked)
        fresh = await Attachment.get_or_none(id=pk, candidate_id=locked.id)
        if fresh is None:
            raise not_found("图片", "attachmentId")
        fresh.verdict, fresh.verdict_note, fresh.verdict_at = verdict, text, utcnow()
        await fresh.save(update_fields=["verdict", "verdict_note", "verdict_at"])
        await save_reasons(fresh, codes)
        reason_words = f" [{','.join(codes)}]" if codes else ""
        await write_audit(
            locked, AuditAction.VERDICT, staff, locked.status,
            note=f"{verdict.value}{reason_words}: {text or ''}".rstrip(": "), attachment_id=str(pk),
        )
    return fresh, locked

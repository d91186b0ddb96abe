"""What examiners decide: return, approve, reject, write, and judge pictures with reasons."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from core.clock import utcnow
from core.context import Context
from core.errors import ErrorCode, Rejected, not_found
from core.ids import parse_int_id, parse_uuid
from core.scope import Scope
from core.settings import Settings
from models import Attachment, AttachmentReasons, Candidate, ReviewMessage, StaffUser
from models.enums import AttachmentVerdict, AuditAction, MessageKind, ReviewStatus, Role
from resolvers import lookalikes
from resolvers.audit import write_audit
from resolvers.auth import require_staff
from resolvers.candidates import candidate_for_staff
from resolvers.claims import end_claim, refuse_if_claimed_by_other, renew_own_claim
from resolvers.events import publish_queue_event, publish_review_event
from resolvers.locking import candidate_for_update
from resolvers.messages import post_message
from resolvers.notifications import notify, reply_hours_for
from resolvers.requirements import requirements_for

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
    candidate = await Candidate.filter(Scope.of(staff).filter(), id=pk).first() if pk else None
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
        await refuse_if_claimed_by_other(ctx, locked, staff)
        now = utcnow()
        locked.status = to_status
        end_claim(locked)
        if locked.first_review_seconds is None and locked.first_submitted_at is not None:
            locked.first_review_seconds = (now - locked.first_submitted_at).total_seconds()
        if to_status == ReviewStatus.RETURNED:
            locked.returned_at = now
            hours = await reply_hours_for(locked.region, ctx.services.settings)
            locked.reply_deadline = now + timedelta(hours=hours)
            locked.unlocked_category_ids = unlocked
        await locked.save()
        posted = await post_message(locked, kind, body, staff, at=now)
        await notify(ctx.services.settings, locked, posted.message, staff)
        await write_audit(locked, action, staff, ReviewStatus.SUBMITTED, to_status, note=body)
    await publish_review_event(ctx.services, locked, posted.message, posted.previous_id)
    await publish_queue_event(ctx.services, locked, now)
    return locked


async def return_for_correction(
    ctx: Context, candidate_id: str, message: str, category_ids: Sequence[str] | None
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
        posted = await post_message(locked, MessageKind.FEEDBACK, text, staff)
        await notify(ctx.services.settings, locked, posted.message, staff)
        await write_audit(locked, AuditAction.FEEDBACK, staff, locked.status, note=text)
    await publish_review_event(ctx.services, locked, posted.message, posted.previous_id)
    return posted.message


# Verdicts on single pictures, with reasons ---------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: str
    label: str


def reason_catalog(settings: Settings) -> list[Reason]:
    """The configured reasons, in order; "CODE=label" pairs, a bare label is its own code."""
    found = []
    for entry in settings.verdict_reasons:
        code, _, label = entry.partition("=")
        found.append(Reason(code.strip(), (label or code).strip()))
    return found


def _check_reasons(settings: Settings, codes: Sequence[str] | None) -> list[str]:
    known = {r.code for r in reason_catalog(settings)}
    chosen: list[str] = []
    for raw in codes or []:
        code = raw.strip()
        if code not in known:
            raise Rejected.one(
                ErrorCode.INVALID_INPUT, f"未知的不合格原因「{raw}」，请从原因列表中选择。", "reasons"
            )
        if code not in chosen:
            chosen.append(code)
    return chosen


async def _save_reasons(attachment: Attachment, codes: list[str]) -> None:
    """Replace the picture's reasons; runs inside the verdict's transaction."""
    await AttachmentReasons.filter(attachment_id=attachment.id).delete()
    if codes:
        await AttachmentReasons.create(attachment_id=attachment.id, codes=codes, at=utcnow())


async def reasons_of(attachment_ids: list[str]) -> dict[str, list[str]]:
    rows = await AttachmentReasons.filter(attachment_id__in=attachment_ids)
    return {str(r.attachment_id): list(r.codes) for r in rows}


async def set_attachment_verdict(
    ctx: Context,
    attachment_id: str,
    verdict: AttachmentVerdict,
    note: str | None,
    reasons: Sequence[str] | None = None,
) -> tuple[Attachment, Candidate]:
    staff = require_staff(ctx, Role.EXAMINER)
    pk = parse_uuid(attachment_id)
    attachment = await Attachment.get_or_none(id=pk).select_related("candidate") if pk else None
    if attachment is None or not Scope.of(staff).covers(attachment.candidate):
        raise not_found("图片", "attachmentId")
    text = _text(note, "note", "备注", NOTE_MAX, required=False)
    codes = _check_reasons(ctx.services.settings, reasons)
    async with candidate_for_update(attachment.candidate_id) as locked:
        _require_submitted(locked)
        await refuse_if_claimed_by_other(ctx, locked, staff, "attachmentId")
        fresh = await Attachment.get_or_none(id=pk, candidate_id=locked.id)
        if fresh is None:
            raise not_found("图片", "attachmentId")
        fresh.verdict, fresh.verdict_note, fresh.verdict_at = verdict, text, utcnow()
        await fresh.save(update_fields=["verdict", "verdict_note", "verdict_at"])
        await lookalikes.verdict_given(fresh.id, verdict, fresh.verdict_at)
        await _save_reasons(fresh, codes)
        reason_words = f" [{','.join(codes)}]" if codes else ""
        await write_audit(
            locked, AuditAction.VERDICT, staff, locked.status,
            note=f"{verdict.value}{reason_words}: {text or ''}".rstrip(": "), attachment_id=str(pk),
        )
        # Judging pictures is work on the claim: the holder's claim runs on from here.
        renewed = await renew_own_claim(ctx, locked, staff)
    if renewed:
        await publish_queue_event(ctx.services, locked, utcnow())
    return fresh, locked


@dataclass(frozen=True)
class ReturnDraft:
    message: str
    category_ids: list[int]
    attachment_ids: list[str]


async def return_draft(ctx: Context, candidate_id: str) -> ReturnDraft | None:
    """The return message composed from the pictures marked NEEDS_REPLACEMENT, for editing."""
    candidate = await candidate_for_staff(ctx, candidate_id)
    if candidate is None:
        return None
    catalog = await ctx.catalog()
    labels = {r.code: r.label for r in reason_catalog(ctx.services.settings)}
    pictures = await Attachment.filter(
        candidate_id=candidate.id, verdict=AttachmentVerdict.NEEDS_REPLACEMENT
    ).order_by("category_id", "slot")
    pictures.sort(
        key=lambda a: (catalog.categories[a.category_id].position, a.category_id, a.slot)
    )
    reasons = await reasons_of([str(a.id) for a in pictures])
    lines = []
    for number, picture in enumerate(pictures, start=1):
        category = catalog.categories[picture.category_id]
        words = "、".join(labels.get(c, c) for c in reasons.get(str(picture.id), []))
        detail = "；".join(part for part in (words, picture.verdict_note or "") if part)
        lines.append(f"{number}. {category.name}（第 {picture.slot + 1} 张）：{detail or '需要重新上传'}。")
    if not lines:
        return ReturnDraft(message="", category_ids=[], attachment_ids=[])
    hours = await reply_hours_for(candidate.region, ctx.services.settings)
    message = "\n".join(
        ["您的报名材料以下照片不符合要求，请删除后重新上传：", *lines, f"请在 {hours} 小时之内处理并重新提交审核。"]
    )
    category_ids = sorted({p.category_id for p in pictures})
    return ReturnDraft(message, category_ids, [str(p.id) for p in pictures])

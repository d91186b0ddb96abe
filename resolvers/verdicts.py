"""Per-picture reasons, the return message they compose, and what changed since the last return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models import Attachment, AttachmentReasons, AuditEntry, Candidate
from models.enums import AttachmentVerdict, AuditAction, Role
from resolvers.auth import require_staff
from resolvers.candidates import candidate_for_staff
from resolvers.common import utcnow
from resolvers.errors import ErrorCode, Rejected
from resolvers.notifications import reply_hours_for
from server.context import Context
from server.settings import Settings


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


def check_reasons(settings: Settings, codes: list[str] | None) -> list[str]:
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


async def save_reasons(attachment: Attachment, codes: list[str]) -> None:
    """Replace the picture's reasons; runs inside the verdict's transaction."""
    await AttachmentReasons.filter(attachment_id=attachment.id).delete()
    if codes:
        await AttachmentReasons.create(attachment_id=attachment.id, codes=codes, at=utcnow())


async def reasons_of(attachment_ids: list[str]) -> dict[str, list[str]]:
    rows = await AttachmentReasons.filter(attachment_id__in=attachment_ids)
    return {str(r.attachment_id): list(r.codes) for r in rows}


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


@dataclass(frozen=True)
class ReviewChanges:
    since: datetime
    added: list[Attachment]
    removed_count: int


async def changes_since_last_return(ctx: Context, candidate: Candidate) -> ReviewChanges | None:
    """Pictures added (or put in place of deleted ones) since the last return; None before one."""
    require_staff(ctx, Role.EXAMINER, Role.ADMIN)
    if candidate.returned_at is None:
        return None
    entries = await AuditEntry.filter(
        candidate_id=candidate.id,
        action__in=[AuditAction.UPLOAD, AuditAction.DELETE],
        at__gt=candidate.returned_at,
    ).order_by("id")
    uploaded = [e.attachment_id for e in entries if e.action == AuditAction.UPLOAD]
    deleted = {e.attachment_id for e in entries if e.action == AuditAction.DELETE}
    # A picture uploaded and deleted again within the window was never seen by an examiner.
    removed = len(deleted - set(uploaded))
    current = {
        str(a.id): a
        for a in await Attachment.filter(candidate_id=candidate.id, id__in=[u for u in uploaded if u])
    }
    added = [current[u] for u in uploaded if u in current]
    return ReviewChanges(since=candidate.returned_at, added=added, removed_count=removed)

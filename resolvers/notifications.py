"""What the candidate and integrations are told outside the page: SMS and webhooks via the outbox.

Everything here runs inside the caller's transaction, so the outbox row commits or rolls back
with the message it reports: a crash can neither lose an SMS nor invent one.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta

from tortoise.expressions import F, Q

from core.clock import utcnow
from core.settings import Settings
from models import Candidate, OutboxMessage, RegionPolicy, ReviewMessage, SmsNotice, StaffUser
from models.enums import MessageKind, ReviewStatus
from models.notifications import OutboxKind, OutboxStatus

DEFAULT_SMS_TEMPLATE = (
    "您的医师资格考试报名材料照片，有新的审核通知，请在 {hours} 小时之内登陆报名网站，"
    "访问报名材料上传页面，查看消息并按要求处理。"
)
DEFAULT_APPROVAL_TEMPLATE = "您的医师资格考试报名材料照片已审核通过，无需其他操作。"
# Kinds an examiner writes; the candidate's own SYSTEM message needs no SMS.
SMS_KINDS = frozenset({MessageKind.RETURNED, MessageKind.APPROVED, MessageKind.REJECTED, MessageKind.FEEDBACK})
FINAL_STATUSES = frozenset({ReviewStatus.APPROVED, ReviewStatus.REJECTED})
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def render(template: str, values: dict[str, str]) -> str:
    """Fill {placeholders}; unknown ones stay as written, so a typo never breaks sending."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


async def policy_of(region: str) -> RegionPolicy | None:
    return await RegionPolicy.get_or_none(region=region)


async def reply_hours_for(region: str, settings: Settings) -> int:
    policy = await policy_of(region)
    if policy is not None and policy.reply_hours:
        return policy.reply_hours
    return settings.reply_hours


def _sms_text(
    candidate: Candidate, policy: RegionPolicy | None, settings: Settings, approval_only: bool
) -> str:
    hours = (policy.reply_hours if policy and policy.reply_hours else None) or settings.reply_hours
    if approval_only:
        template = (policy.sms_approval_template if policy else None) or DEFAULT_APPROVAL_TEMPLATE
    else:
        template = (policy.sms_template if policy else None) or DEFAULT_SMS_TEMPLATE
    return render(
        template,
        {
            "name": candidate.name,
            "admission_no": candidate.admission_no,
            "region": candidate.region,
            "site": candidate.site,
            "hours": str(hours),
        },
    )


async def enqueue_sms(
    settings: Settings, candidate: Candidate, message: ReviewMessage
) -> OutboxMessage | None:
    """Queue the SMS for an examiner's message, merging into one still waiting for this phone."""
    if message.kind not in SMS_KINDS or not candidate.phone:
        return None
    now = utcnow()
    policy = await policy_of(candidate.region)
    hold = timedelta(minutes=policy.sms_hold_minutes if policy else 0)
    window = timedelta(seconds=settings.sms_merge_seconds)
    if window > timedelta(0):
        waiting = (
            await OutboxMessage.filter(
                kind=OutboxKind.SMS,
                target=candidate.phone,
                status=OutboxStatus.QUEUED,
                attempts=0,
                created_at__gte=now - window,
            )
            .order_by("-id")
            .first()
        )
        if waiting is not None:
            kinds: set[str] = {
                str(kind)
                for kind in await ReviewMessage.filter(
                    sms_notice__outbox_id=waiting.id
                ).values_list("kind", flat=True)
            }
            kinds.add(message.kind.value)
            text = _sms_text(candidate, policy, settings, kinds == {MessageKind.APPROVED.value})
            # Conditional, like the sender's claim: a row a sender holds is no longer mergeable.
            merged = await OutboxMessage.filter(
                Q(lease_until__isnull=True) | Q(lease_until__lt=now),
                id=waiting.id,
                status=OutboxStatus.QUEUED,
                attempts=0,
            ).update(
                body=text,
                notice_count=F("notice_count") + 1,
                drop_if_read=waiting.drop_if_read and hold > timedelta(0),
            )
            if merged:
                await SmsNotice.create(outbox_id=waiting.id, message_id=message.id)
                return await OutboxMessage.get(id=waiting.id)
    sms = await OutboxMessage.create(
        kind=OutboxKind.SMS,
        candidate_id=candidate.id,
        target=candidate.phone,
        body=_sms_text(candidate, policy, settings, message.kind == MessageKind.APPROVED),
        idempotency_key=uuid.uuid4().hex,
        drop_if_read=hold > timedelta(0),
        next_attempt_at=now + max(window, hold),
        created_at=now,
    )
    await SmsNotice.create(outbox_id=sms.id, message_id=message.id)
    return sms


def decision_event(
    candidate: Candidate, message: ReviewMessage, staff: StaffUser | None, at: datetime
) -> dict[str, object]:
    return {
        "event": "candidate.decided",
        "candidate": {
            "id": str(candidate.id),
            "admissionNo": candidate.admission_no,
            "name": candidate.name,
            "examCategoryCode": candidate.exam_category_code,
            "region": candidate.region,
            "site": candidate.site,
        },
        "status": candidate.status.value,
        "message": message.body,
        "decidedBy": staff.name if staff else None,
        "decidedAt": at.isoformat(),
    }


async def enqueue_webhooks(
    settings: Settings, candidate: Candidate, message: ReviewMessage, staff: StaffUser | None
) -> list[OutboxMessage]:
    """One call per configured endpoint for a final decision (APPROVED or REJECTED)."""
    if candidate.status not in FINAL_STATUSES or not settings.webhook_urls:
        return []
    now = utcnow()
    created = []
    for url in settings.webhook_urls:
        key = uuid.uuid4().hex
        body = {"id": key, **decision_event(candidate, message, staff, now)}
        created.append(
            await OutboxMessage.create(
                kind=OutboxKind.WEBHOOK,
                candidate_id=candidate.id,
                target=url,
                body=json.dumps(body, ensure_ascii=False),
                idempotency_key=key,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return created


async def notify(
    settings: Settings, candidate: Candidate, message: ReviewMessage, staff: StaffUser | None
) -> None:
    """Everything an examiner's message sends outside the page. Call inside the transaction."""
    await enqueue_sms(settings, candidate, message)
    await enqueue_webhooks(settings, candidate, message, staff)


async def sms_of(message: ReviewMessage) -> OutboxMessage | None:
    return await OutboxMessage.filter(notices__message_id=message.id).first()

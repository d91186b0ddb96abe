"""resolvers/notifications.py and resolvers/verdicts.py: the outbox commits with the message,
reasons compose the return message, and the examiner sees what changed since the return."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from models import Candidate, MaterialCategory, OutboxMessage, ReviewMessage, SmsNotice
from models.enums import MessageKind
from resolvers.locking import candidate_for_update
from resolvers.messages import post_message
from resolvers.notifications import notify
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service

REASONS = "query { verdictReasons { code label } }"
DRAFT = "query($id: ID!) { returnMessageDraft(candidateId: $id) { message categoryIds attachmentIds } }"
VERDICT = """
mutation($id: ID!, $verdict: AttachmentVerdict!, $note: String, $reasons: [String!]) {
  setAttachmentVerdict(attachmentId: $id, verdict: $verdict, note: $note, reasons: $reasons) {
    attachment { id verdict verdictNote verdictReasons { code label } } errors { code message field }
  }
}
"""
CHANGES = """
query($id: ID!) { candidate(id: $id) { changesSinceLastReturn { since removedCount added { id category { code } } } } }
"""


class Boom(Exception):
    pass


async def test_a_rolled_back_transaction_leaves_no_sms(service: Service) -> None:
    # Notices merge per phone: this candidate's phone is its own.
    row = await make_candidate(service, region=unique("回滚省"), phone=f"13{uuid.uuid4().int % 10**9:09d}")
    staff = await make_staff(service, region=row.region, site=None)
    with service.db():
        with pytest.raises(Boom):
            async with candidate_for_update(row.id) as locked:
                message = (await post_message(locked, MessageKind.FEEDBACK, "不会送达", staff)).message
                await notify(service.settings, locked, message, staff)
                assert await OutboxMessage.filter(candidate_id=row.id).count() == 1
                raise Boom
        assert await OutboxMessage.filter(candidate_id=row.id).count() == 0
        assert await ReviewMessage.filter(candidate_id=row.id).count() == 0
        assert await SmsNotice.filter(message_id=message.id).count() == 0
        # The same steps committed leave exactly one SMS, linked to its message.
        async with in_transaction():
            message = (await post_message(row, MessageKind.FEEDBACK, "会送达", staff)).message
            await notify(service.settings, row, message, staff)
        sms = await OutboxMessage.get(candidate_id=row.id)
        assert await SmsNotice.filter(outbox_id=sms.id, message_id=message.id).exists()


async def test_a_failed_decision_writes_no_sms(service: Service) -> None:
    row = await make_candidate(service, region=unique("失败省"))  # DRAFT: not reviewable
    staff = await make_staff(service, region=row.region, site=None)
    examiner = await signed_in(service, staff.username)
    result = await examiner.execute(op.APPROVE, {"id": str(row.id)})
    assert [e["code"] for e in result.payload("approveCandidate")["errors"]] == ["INVALID_STATE"]
    with service.db():
        assert await OutboxMessage.filter(candidate_id=row.id).count() == 0
    await examiner.aclose()


async def upload_and_submit(service: Service, categories: dict[str, MaterialCategory], row: Candidate) -> GraphQLClient:
    client = await signed_in(service, row.username)
    for seed, code in ((1, "ID"), (2, "ID"), (3, "EDU"), (4, "PROBATION")):
        files = {"file": FilePart(f"p{seed}.jpg", small_jpeg(seed), "image/jpeg")}
        result = await client.upload(op.UPLOAD, {"categoryId": str(categories[code].id)}, files)
        assert result.payload("uploadAttachment")["errors"] == []
    assert (await client.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []
    return client


def pictures(candidate: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {m["category"]["code"]: m["attachments"] for m in candidate["materials"]}


async def test_reasons_compose_the_return_message_and_changes_show_after_resubmit(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    region = unique("原因省")
    row = await make_candidate(service, region=region)
    staff = await make_staff(service, region=region, site=None)
    examiner = await signed_in(service, staff.username)
    candidate = await upload_and_submit(service, categories, row)

    reasons = (await examiner.execute(REASONS)).payload("verdictReasons")
    assert [r["label"] for r in reasons] == [
        "模糊不清", "信息不全或有遮挡", "方向不正", "与报名信息不一致", "非本人材料", "证件过期", "其他",
    ]
    # The candidate may not list them, nor ask for drafts.
    assert (await candidate.execute(REASONS)).error_codes == ["FORBIDDEN"]

    seen = pictures((await examiner.execute(op.CANDIDATE, {"id": str(row.id)})).payload("candidate"))
    back, edu = seen["ID"][1], seen["EDU"][0]
    bad = await examiner.execute(VERDICT, {"id": back["id"], "verdict": "NEEDS_REPLACEMENT", "reasons": ["NOPE"]})
    assert [(e["code"], e["field"]) for e in bad.payload("setAttachmentVerdict")["errors"]] == [("INVALID_INPUT", "reasons")]
    for picture, codes, note in ((back, ["BLURRY", "ORIENTATION"], "反面看不清"), (edu, ["EXPIRED"], None)):
        done = await examiner.execute(
            VERDICT, {"id": picture["id"], "verdict": "NEEDS_REPLACEMENT", "reasons": codes, "note": note}
        )
        assert done.payload("setAttachmentVerdict")["errors"] == []
        judged = done.payload("setAttachmentVerdict")["attachment"]
        assert [r["code"] for r in judged["verdictReasons"]] == codes
    assert done.payload("setAttachmentVerdict")["attachment"]["verdictReasons"] == [
        {"code": "EXPIRED", "label": "证件过期"}
    ]
    accepted = await examiner.execute(VERDICT, {"id": seen["ID"][0]["id"], "verdict": "ACCEPTED"})
    assert accepted.payload("setAttachmentVerdict")["errors"] == []
    assert accepted.payload("setAttachmentVerdict")["attachment"]["verdictReasons"] == []

    draft = (await examiner.execute(DRAFT, {"id": str(row.id)})).payload("returnMessageDraft")
    assert draft["message"].splitlines() == [
        "您的报名材料以下照片不符合要求，请删除后重新上传：",
        "1. 身份证明（第 2 张）：模糊不清、方向不正；反面看不清。",
        "2. 学历证明（第 1 张）：证件过期。",
        "请在 24 小时之内处理并重新提交审核。",
    ]
    assert sorted(draft["categoryIds"]) == sorted([str(categories["ID"].id), str(categories["EDU"].id)])
    assert set(draft["attachmentIds"]) == {back["id"], edu["id"]}
    # Out of scope looks absent.
    other = await signed_in(service, (await make_staff(service, region=unique("别省"), site=None)).username)
    assert (await other.execute(DRAFT, {"id": str(row.id)})).data == {"returnMessageDraft": None}

    assert (await examiner.execute(CHANGES, {"id": str(row.id)})).payload("candidate")["changesSinceLastReturn"] is None
    edited = draft["message"].replace("请在 24 小时", "请尽快，最迟 24 小时")
    returned = await examiner.execute(
        op.RETURN, {"id": str(row.id), "message": edited, "categoryIds": draft["categoryIds"]}
    )
    assert returned.payload("returnForCorrection")["candidate"]["messages"][0]["body"] == edited

    # The candidate replaces the blurred back side and resubmits.
    assert (await candidate.execute(op.DELETE, {"id": back["id"]})).payload("deleteAttachment")["errors"] == []
    files = {"file": FilePart("new.jpg", small_jpeg(9), "image/jpeg")}
    new = (await candidate.upload(op.UPLOAD, {"categoryId": str(categories["ID"].id)}, files)).payload("uploadAttachment")
    assert (await candidate.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []
    changes = (await examiner.execute(CHANGES, {"id": str(row.id)})).payload("candidate")["changesSinceLastReturn"]
    assert changes["removedCount"] == 1
    assert [(a["id"], a["category"]["code"]) for a in changes["added"]] == [(new["attachment"]["id"], "ID")]
    for client in (candidate, examiner, other):
        await client.aclose()

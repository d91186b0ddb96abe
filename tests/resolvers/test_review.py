"""resolvers/review.py: return, approve, reject, feedback and per-picture verdicts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import pytest

from models import AuditEntry, Candidate, MaterialCategory, ReviewMessage, StaffUser
from models.enums import AuditAction, MessageKind, ReviewStatus
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service

REQUIRED_UPLOADS = (("ID", 1), ("ID", 2), ("EDU", 3), ("PROBATION", 4))


@cache
def jpeg_bytes(seed: int) -> bytes:
    return small_jpeg(seed)


def jpeg(seed: int) -> dict[str, FilePart]:
    return {"file": FilePart(f"photo{seed}.jpg", jpeg_bytes(seed), "image/jpeg")}


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


@dataclass
class Submitted:
    """A candidate who uploaded every required picture and pressed 提交审核."""

    row: Candidate
    client: GraphQLClient
    pictures: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


async def submitted_candidate(
    service: Service, categories: dict[str, MaterialCategory], region: str, site: str
) -> Submitted:
    row = await make_candidate(service, region=region, site=site)
    client = await signed_in(service, row.username)
    prepared = Submitted(row, client)
    for code, seed in REQUIRED_UPLOADS:
        result = await client.upload(op.UPLOAD, {"categoryId": str(categories[code].id)}, jpeg(seed))
        payload = result.payload("uploadAttachment")
        assert payload["errors"] == [], payload
        prepared.pictures.setdefault(code, []).append(payload["attachment"])
    submitted = (await client.execute(op.SUBMIT)).payload("submitForReview")
    assert submitted["errors"] == [], submitted
    return prepared


@dataclass
class Desk:
    """An examiner of one unique region/site, with a way to make candidates there."""

    service: Service
    categories: dict[str, MaterialCategory]
    region: str
    site: str
    staff: StaffUser
    examiner: GraphQLClient
    opened: list[GraphQLClient] = field(default_factory=list)

    async def submitted(self) -> Submitted:
        prepared = await submitted_candidate(self.service, self.categories, self.region, self.site)
        self.opened.append(prepared.client)
        return prepared

    async def draft(self) -> Candidate:
        return await make_candidate(self.service, region=self.region, site=self.site)


@pytest.fixture
async def desk(service: Service, categories: dict[str, MaterialCategory]) -> AsyncIterator[Desk]:
    region, site = unique("审核区"), unique("考点")
    staff = await make_staff(service, region=region, site=site)
    examiner = await signed_in(service, staff.username)
    opened = Desk(service, categories, region, site, staff, examiner)
    yield opened
    for client in [examiner, *opened.opened]:
        await client.aclose()


@dataclass(frozen=True)
class Trail:
    audit: list[AuditEntry]
    messages: list[ReviewMessage]


async def trail(service: Service, candidate_id: int) -> Trail:
    with service.db():
        return Trail(
            audit=await AuditEntry.filter(candidate_id=candidate_id).order_by("id"),
            messages=await ReviewMessage.filter(candidate_id=candidate_id).order_by("id"),
        )


async def stored(service: Service, candidate_id: int) -> Candidate:
    with service.db():
        return await Candidate.get(id=candidate_id)


def assert_one_transition(
    before: Trail,
    after: Trail,
    staff: StaffUser,
    action: AuditAction,
    kind: MessageKind,
    to_status: ReviewStatus,
    body: str,
) -> None:
    added_audit = after.audit[len(before.audit) :]
    added_messages = after.messages[len(before.messages) :]
    assert len(added_audit) == 1 and len(added_messages) == 1
    entry, message = added_audit[0], added_messages[0]
    assert entry.action == action
    assert entry.actor_id == staff.id and entry.actor_name == staff.name
    assert entry.from_status == ReviewStatus.SUBMITTED and entry.to_status == to_status
    assert entry.note == body
    assert message.kind == kind and message.body == body
    assert message.author_name == staff.name and message.author_staff_id == staff.id


def assert_nothing_written(before: Trail, after: Trail) -> None:
    assert [e.id for e in after.audit] == [e.id for e in before.audit]
    assert [m.id for m in after.messages] == [m.id for m in before.messages]


# returnForCorrection


async def test_return_unlocks_only_the_named_categories(desk: Desk) -> None:
    candidate = await desk.submitted()
    before = await trail(desk.service, candidate.row.id)
    body = "身份证反面模糊，请重新上传。"
    id_card = str(desk.categories["ID"].id)
    payload = (
        await desk.examiner.execute(
            op.RETURN, {"id": str(candidate.row.id), "message": body, "categoryIds": [id_card]}
        )
    ).payload("returnForCorrection")
    assert payload["errors"] == []
    returned = payload["candidate"]
    assert returned["status"] == "RETURNED" and returned["locked"] is False
    by_code = {m["category"]["code"]: m for m in returned["materials"]}
    assert by_code["ID"]["locked"] is False
    assert by_code["ID"]["remaining"] == 0  # unlocked, but both slots are taken
    assert all(a["locked"] is False for a in by_code["ID"]["attachments"])
    for code in ("EDU", "PROBATION", "ASSISTANT_CERT"):
        assert by_code[code]["locked"] is True and by_code[code]["remaining"] == 0
        assert all(a["locked"] for a in by_code[code]["attachments"])
    assert returned["messages"][0]["kind"] == "RETURNED"
    assert returned["messages"][0]["body"] == body
    assert returned["messages"][0]["authorName"] == desk.staff.name

    row = await stored(desk.service, candidate.row.id)
    assert row.status == ReviewStatus.RETURNED
    assert row.unlocked_category_ids == [desk.categories["ID"].id]
    assert row.returned_at is not None and row.reply_deadline is not None
    assert row.reply_deadline - row.returned_at == timedelta(hours=24)
    assert datetime.fromisoformat(returned["replyDeadline"]) == row.reply_deadline
    assert_one_transition(
        before, await trail(desk.service, candidate.row.id), desk.staff,
        AuditAction.RETURN, MessageKind.RETURNED, ReviewStatus.RETURNED, body,
    )

    # The candidate can now change 身份证明 but nothing else.
    other = (
        await candidate.client.upload(op.UPLOAD, {"categoryId": str(desk.categories["EDU"].id)}, jpeg(9))
    ).payload("uploadAttachment")
    assert codes(other) == ["LOCKED"]
    edu_picture = candidate.pictures["EDU"][0]["id"]
    assert codes((await candidate.client.execute(op.DELETE, {"id": edu_picture})).payload("deleteAttachment")) == ["LOCKED"]
    back = candidate.pictures["ID"][1]["id"]
    deleted = (await candidate.client.execute(op.DELETE, {"id": back})).payload("deleteAttachment")
    assert deleted == {"deletedId": back, "errors": []}


@pytest.mark.parametrize("category_ids", [None, []], ids=["omitted", "empty"])
async def test_return_naming_no_category_unlocks_all(desk: Desk, category_ids: list[str] | None) -> None:
    candidate = await desk.submitted()
    payload = (
        await desk.examiner.execute(
            op.RETURN,
            {"id": str(candidate.row.id), "message": "请全部重新核对。", "categoryIds": category_ids},
        )
    ).payload("returnForCorrection")
    assert payload["errors"] == []
    materials = payload["candidate"]["materials"]
    assert all(m["locked"] is False for m in materials)
    by_code = {m["category"]["code"]: m for m in materials}
    assert by_code["ASSISTANT_CERT"]["remaining"] == 1
    assert by_code["ID"]["remaining"] == 0
    assert (await stored(desk.service, candidate.row.id)).unlocked_category_ids is None
    uploaded = (
        await candidate.client.upload(
            op.UPLOAD, {"categoryId": str(desk.categories["EDU"].id)}, jpeg(10)
        )
    ).payload("uploadAttachment")
    # EDU takes one picture and holds one already: unlocked, so the answer is "full", not "locked".
    assert codes(uploaded) == ["CATEGORY_FULL"]


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
async def test_return_needs_a_message(desk: Desk, message: str) -> None:
    candidate = await desk.submitted()
    before = await trail(desk.service, candidate.row.id)
    payload = (
        await desk.examiner.execute(op.RETURN, {"id": str(candidate.row.id), "message": message})
    ).payload("returnForCorrection")
    assert payload["candidate"] is None
    assert payload["errors"] == [{"code": "INVALID_INPUT", "message": "请填写退回说明。", "field": "message"}]
    assert (await stored(desk.service, candidate.row.id)).status == ReviewStatus.SUBMITTED
    assert_nothing_written(before, await trail(desk.service, candidate.row.id))


async def test_return_message_too_long(desk: Desk) -> None:
    candidate = await desk.submitted()
    payload = (
        await desk.examiner.execute(op.RETURN, {"id": str(candidate.row.id), "message": "长" * 1001})
    ).payload("returnForCorrection")
    assert codes(payload) == ["INVALID_INPUT"] and payload["errors"][0]["field"] == "message"
    assert "1000" in payload["errors"][0]["message"]


@pytest.mark.parametrize("bad", ["999999999", "abc", "-1"])
async def test_return_naming_an_inapplicable_category(desk: Desk, bad: str) -> None:
    candidate = await desk.submitted()
    before = await trail(desk.service, candidate.row.id)
    payload = (
        await desk.examiner.execute(
            op.RETURN,
            {
                "id": str(candidate.row.id),
                "message": "请重新上传。",
                "categoryIds": [str(desk.categories["ID"].id), bad],
            },
        )
    ).payload("returnForCorrection")
    assert codes(payload) == ["CATEGORY_NOT_APPLICABLE"]
    assert payload["errors"][0]["field"] == "categoryIds"
    assert (await stored(desk.service, candidate.row.id)).status == ReviewStatus.SUBMITTED
    assert_nothing_written(before, await trail(desk.service, candidate.row.id))


DECISIONS: list[tuple[str, str, dict[str, Any]]] = [
    (op.RETURN, "returnForCorrection", {"message": "请重新上传。"}),
    (op.APPROVE, "approveCandidate", {}),
    (op.REJECT, "rejectCandidate", {"reason": "不符合报考条件。"}),
]
DECISION_IDS = ["return", "approve", "reject"]


@pytest.mark.parametrize(("document", "name", "extra"), DECISIONS, ids=DECISION_IDS)
async def test_decisions_need_a_submitted_candidate(
    desk: Desk, document: str, name: str, extra: dict[str, Any]
) -> None:
    draft = await desk.draft()
    payload = (await desk.examiner.execute(document, {"id": str(draft.id), **extra})).payload(name)
    assert codes(payload) == ["INVALID_STATE"] and payload["candidate"] is None
    assert "已提交" in payload["errors"][0]["message"]
    assert (await stored(desk.service, draft.id)).status == ReviewStatus.DRAFT

    # A decided candidate cannot be decided again.
    decided = await desk.submitted()
    approved = (await desk.examiner.execute(op.APPROVE, {"id": str(decided.row.id)})).payload(
        "approveCandidate"
    )
    assert approved["errors"] == []
    before = await trail(desk.service, decided.row.id)
    again = (await desk.examiner.execute(document, {"id": str(decided.row.id), **extra})).payload(name)
    assert codes(again) == ["INVALID_STATE"]
    assert (await stored(desk.service, decided.row.id)).status == ReviewStatus.APPROVED
    assert_nothing_written(before, await trail(desk.service, decided.row.id))


@pytest.mark.parametrize(("document", "name", "extra"), DECISIONS, ids=DECISION_IDS)
async def test_decisions_out_of_scope_look_like_absent(
    desk: Desk, document: str, name: str, extra: dict[str, Any]
) -> None:
    # Same region, another site: the examiner of desk.site may not see it.
    elsewhere = await submitted_candidate(desk.service, desk.categories, desk.region, unique("考点"))
    desk.opened.append(elsewhere.client)
    out_of_scope = (
        await desk.examiner.execute(document, {"id": str(elsewhere.row.id), **extra})
    ).payload(name)
    absent = (await desk.examiner.execute(document, {"id": "987654321", **extra})).payload(name)
    garbage = (await desk.examiner.execute(document, {"id": "not-an-id", **extra})).payload(name)
    assert codes(out_of_scope) == ["NOT_FOUND"]
    assert out_of_scope == absent == garbage
    assert out_of_scope["errors"][0]["field"] == "candidateId"
    assert (await stored(desk.service, elsewhere.row.id)).status == ReviewStatus.SUBMITTED


# approveCandidate


async def test_approve_with_the_default_message(desk: Desk) -> None:
    candidate = await desk.submitted()
    before = await trail(desk.service, candidate.row.id)
    payload = (await desk.examiner.execute(op.APPROVE, {"id": str(candidate.row.id)})).payload(
        "approveCandidate"
    )
    assert payload == {
        "candidate": {"id": str(candidate.row.id), "status": "APPROVED", "locked": True},
        "errors": [],
    }
    default = "您的报名材料已审核通过，无需其他操作。"
    assert_one_transition(
        before, await trail(desk.service, candidate.row.id), desk.staff,
        AuditAction.APPROVE, MessageKind.APPROVED, ReviewStatus.APPROVED, default,
    )
    # Approved is locked for good.
    upload = (
        await candidate.client.upload(op.UPLOAD, {"categoryId": str(desk.categories["ID"].id)}, jpeg(11))
    ).payload("uploadAttachment")
    assert codes(upload) == ["LOCKED"]


@pytest.mark.parametrize("message", [None, "", "   "], ids=["null", "empty", "blank"])
async def test_approve_with_blank_message_uses_the_default(desk: Desk, message: str | None) -> None:
    candidate = await desk.submitted()
    payload = (
        await desk.examiner.execute(op.APPROVE, {"id": str(candidate.row.id), "message": message})
    ).payload("approveCandidate")
    assert payload["errors"] == []
    last = (await trail(desk.service, candidate.row.id)).messages[-1]
    assert last.body == "您的报名材料已审核通过，无需其他操作。"


async def test_approve_with_a_custom_message(desk: Desk) -> None:
    candidate = await desk.submitted()
    before = await trail(desk.service, candidate.row.id)
    body = "材料齐全，审核通过，请按时参加考试。"
    payload = (
        await desk.examiner.execute(op.APPROVE, {"id": str(candidate.row.id), "message": f"  {body} "})
    ).payload("approveCandidate")
    assert payload["errors"] == [] and payload["candidate"]["status"] == "APPROVED"
    assert_one_transition(
        before, await trail(desk.service, candidate.row.id), desk.staff,
        AuditAction.APPROVE, MessageKind.APPROVED, ReviewStatus.APPROVED, body,
    )
    me = (await candidate.client.execute(op.ME)).payload("me")
    assert me["status"] == "APPROVED" and me["locked"] is True
    assert me["messages"][0]["body"] == body and me["messages"][0]["kind"] == "APPROVED"
    assert me["replyDeadline"] is None


async def test_approve_message_too_long(desk: Desk) -> None:
    candidate = await desk.submitted()
    payload = (
        await desk.examiner.execute(op.APPROVE, {"id": str(candidate.row.id), "message": "好" * 1001})
    ).payload("approveCandidate")
    assert codes(payload) == ["INVALID_INPUT"] and payload["errors"][0]["field"] == "message"


# rejectCandidate


async def test_reject(desk: Desk) -> None:
    candidate = await desk.submitted()
    before = await trail(desk.service, candidate.row.id)
    reason = "学历不符合报考条件。"
    payload = (
        await desk.examiner.execute(op.REJECT, {"id": str(candidate.row.id), "reason": reason})
    ).payload("rejectCandidate")
    assert payload == {
        "candidate": {"id": str(candidate.row.id), "status": "REJECTED", "locked": True},
        "errors": [],
    }
    assert_one_transition(
        before, await trail(desk.service, candidate.row.id), desk.staff,
        AuditAction.REJECT, MessageKind.REJECTED, ReviewStatus.REJECTED, reason,
    )
    resubmit = (await candidate.client.execute(op.SUBMIT)).payload("submitForReview")
    assert codes(resubmit) == ["INVALID_STATE"]


@pytest.mark.parametrize("reason", ["", "  "], ids=["empty", "blank"])
async def test_reject_needs_a_reason(desk: Desk, reason: str) -> None:
    candidate = await desk.submitted()
    before = await trail(desk.service, candidate.row.id)
    payload = (
        await desk.examiner.execute(op.REJECT, {"id": str(candidate.row.id), "reason": reason})
    ).payload("rejectCandidate")
    assert payload["errors"] == [
        {"code": "INVALID_INPUT", "message": "请填写不通过的原因。", "field": "reason"}
    ]
    assert (await stored(desk.service, candidate.row.id)).status == ReviewStatus.SUBMITTED
    assert_nothing_written(before, await trail(desk.service, candidate.row.id))


# sendFeedback


async def test_feedback_in_any_status_changes_nothing(desk: Desk) -> None:
    draft = await desk.draft()
    submitted = await desk.submitted()
    returned = await desk.submitted()
    approved = await desk.submitted()
    rejected = await desk.submitted()
    assert (
        await desk.examiner.execute(op.RETURN, {"id": str(returned.row.id), "message": "请补充。"})
    ).payload("returnForCorrection")["errors"] == []
    assert (await desk.examiner.execute(op.APPROVE, {"id": str(approved.row.id)})).payload(
        "approveCandidate"
    )["errors"] == []
    assert (
        await desk.examiner.execute(op.REJECT, {"id": str(rejected.row.id), "reason": "不符合。"})
    ).payload("rejectCandidate")["errors"] == []

    for row, status in [
        (draft, ReviewStatus.DRAFT),
        (submitted.row, ReviewStatus.SUBMITTED),
        (returned.row, ReviewStatus.RETURNED),
        (approved.row, ReviewStatus.APPROVED),
        (rejected.row, ReviewStatus.REJECTED),
    ]:
        before = await trail(desk.service, row.id)
        body = f"请注意查收短信通知（{status.value}）。"
        payload = (
            await desk.examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": f" {body} "})
        ).payload("sendFeedback")
        assert payload["errors"] == [], status
        assert payload["message"]["kind"] == "FEEDBACK" and payload["message"]["body"] == body
        assert payload["message"]["authorName"] == desk.staff.name
        after = await trail(desk.service, row.id)
        assert len(after.messages) == len(before.messages) + 1
        assert len(after.audit) == len(before.audit) + 1
        entry = after.audit[-1]
        assert entry.action == AuditAction.FEEDBACK and entry.note == body
        assert entry.from_status == entry.to_status == status
        assert str(after.messages[-1].id) == payload["message"]["id"]
        assert (await stored(desk.service, row.id)).status == status


@pytest.mark.parametrize("body", ["", "   "], ids=["empty", "blank"])
async def test_feedback_needs_a_body(desk: Desk, body: str) -> None:
    draft = await desk.draft()
    before = await trail(desk.service, draft.id)
    payload = (await desk.examiner.execute(op.FEEDBACK, {"id": str(draft.id), "body": body})).payload(
        "sendFeedback"
    )
    assert payload == {
        "message": None,
        "errors": [{"code": "INVALID_INPUT", "message": "请填写反馈内容。", "field": "body"}],
    }
    assert_nothing_written(before, await trail(desk.service, draft.id))


async def test_feedback_too_long_and_out_of_scope(desk: Desk) -> None:
    draft = await desk.draft()
    long = (
        await desk.examiner.execute(op.FEEDBACK, {"id": str(draft.id), "body": "长" * 1001})
    ).payload("sendFeedback")
    assert codes(long) == ["INVALID_INPUT"]
    elsewhere = await make_candidate(desk.service, region=unique("他区"), site=desk.site)
    out = (
        await desk.examiner.execute(op.FEEDBACK, {"id": str(elsewhere.id), "body": "你好"})
    ).payload("sendFeedback")
    absent = (await desk.examiner.execute(op.FEEDBACK, {"id": "987654321", "body": "你好"})).payload(
        "sendFeedback"
    )
    assert codes(out) == ["NOT_FOUND"] and out == absent
    assert (await trail(desk.service, elsewhere.id)).messages == []


# setAttachmentVerdict


async def test_verdicts_with_notes(desk: Desk) -> None:
    candidate = await desk.submitted()
    front, back = candidate.pictures["ID"]
    before = await trail(desk.service, candidate.row.id)

    accepted = (
        await desk.examiner.execute(op.VERDICT, {"id": front["id"], "verdict": "ACCEPTED"})
    ).payload("setAttachmentVerdict")
    assert accepted == {
        "attachment": {"id": front["id"], "verdict": "ACCEPTED", "verdictNote": None, "locked": True},
        "errors": [],
    }
    note = "反面照片模糊，请重新拍摄。"
    replace = (
        await desk.examiner.execute(
            op.VERDICT, {"id": back["id"], "verdict": "NEEDS_REPLACEMENT", "note": f" {note} "}
        )
    ).payload("setAttachmentVerdict")
    assert replace["errors"] == []
    assert replace["attachment"]["verdict"] == "NEEDS_REPLACEMENT"
    assert replace["attachment"]["verdictNote"] == note

    after = await trail(desk.service, candidate.row.id)
    # A verdict is audited but writes no message of its own.
    assert [m.id for m in after.messages] == [m.id for m in before.messages]
    added = after.audit[len(before.audit) :]
    assert [e.action for e in added] == [AuditAction.VERDICT, AuditAction.VERDICT]
    assert [e.attachment_id for e in added] == [front["id"], back["id"]]
    assert all(e.actor_id == desk.staff.id for e in added)
    assert (await stored(desk.service, candidate.row.id)).status == ReviewStatus.SUBMITTED

    # The candidate sees both verdicts and the note on the picture.
    me = (await candidate.client.execute(op.ME)).payload("me")
    pictures = {a["id"]: a for m in me["materials"] for a in m["attachments"]}
    assert pictures[front["id"]]["verdict"] == "ACCEPTED"
    assert pictures[back["id"]]["verdictNote"] == note

    # A verdict can be changed while the candidate is still submitted.
    pending = (
        await desk.examiner.execute(op.VERDICT, {"id": back["id"], "verdict": "PENDING"})
    ).payload("setAttachmentVerdict")
    assert pending["attachment"]["verdict"] == "PENDING" and pending["attachment"]["verdictNote"] is None


async def test_an_accepted_picture_stays_locked_through_a_return(desk: Desk) -> None:
    candidate = await desk.submitted()
    front, back = candidate.pictures["ID"]
    for picture, verdict in ((front, "ACCEPTED"), (back, "NEEDS_REPLACEMENT")):
        result = await desk.examiner.execute(op.VERDICT, {"id": picture["id"], "verdict": verdict})
        assert result.payload("setAttachmentVerdict")["errors"] == []
    returned = (
        await desk.examiner.execute(
            op.RETURN,
            {
                "id": str(candidate.row.id),
                "message": "请重新上传身份证反面。",
                "categoryIds": [str(desk.categories["ID"].id)],
            },
        )
    ).payload("returnForCorrection")
    assert returned["errors"] == []
    id_material = next(m for m in returned["candidate"]["materials"] if m["category"]["code"] == "ID")
    locks = {a["id"]: a["locked"] for a in id_material["attachments"]}
    assert locks == {front["id"]: True, back["id"]: False}

    refused = (await candidate.client.execute(op.DELETE, {"id": front["id"]})).payload(
        "deleteAttachment"
    )
    assert codes(refused) == ["LOCKED"]
    deleted = (await candidate.client.execute(op.DELETE, {"id": back["id"]})).payload(
        "deleteAttachment"
    )
    assert deleted["errors"] == []
    replacement = (
        await candidate.client.upload(op.UPLOAD, {"categoryId": str(desk.categories["ID"].id)}, jpeg(12))
    ).payload("uploadAttachment")
    assert replacement["errors"] == [] and replacement["attachment"]["locked"] is False


async def test_verdict_needs_a_submitted_candidate(desk: Desk) -> None:
    candidate = await desk.submitted()
    picture = candidate.pictures["EDU"][0]
    assert (
        await desk.examiner.execute(op.RETURN, {"id": str(candidate.row.id), "message": "请补充。"})
    ).payload("returnForCorrection")["errors"] == []
    before = await trail(desk.service, candidate.row.id)
    payload = (
        await desk.examiner.execute(op.VERDICT, {"id": picture["id"], "verdict": "ACCEPTED"})
    ).payload("setAttachmentVerdict")
    assert codes(payload) == ["INVALID_STATE"] and payload["attachment"] is None
    assert_nothing_written(before, await trail(desk.service, candidate.row.id))


async def test_verdict_note_too_long(desk: Desk) -> None:
    candidate = await desk.submitted()
    payload = (
        await desk.examiner.execute(
            op.VERDICT,
            {"id": candidate.pictures["EDU"][0]["id"], "verdict": "NEEDS_REPLACEMENT", "note": "长" * 501},
        )
    ).payload("setAttachmentVerdict")
    assert codes(payload) == ["INVALID_INPUT"] and payload["errors"][0]["field"] == "note"


async def test_verdict_on_another_sites_picture_looks_like_absent(desk: Desk) -> None:
    elsewhere = await submitted_candidate(desk.service, desk.categories, desk.region, unique("考点"))
    desk.opened.append(elsewhere.client)
    picture = elsewhere.pictures["EDU"][0]["id"]
    out = (await desk.examiner.execute(op.VERDICT, {"id": picture, "verdict": "ACCEPTED"})).payload(
        "setAttachmentVerdict"
    )
    absent = (
        await desk.examiner.execute(
            op.VERDICT, {"id": "00000000-0000-4000-8000-000000000000", "verdict": "ACCEPTED"}
        )
    ).payload("setAttachmentVerdict")
    garbage = (await desk.examiner.execute(op.VERDICT, {"id": "nope", "verdict": "ACCEPTED"})).payload(
        "setAttachmentVerdict"
    )
    assert codes(out) == ["NOT_FOUND"] and out == absent == garbage
    assert out["errors"][0]["field"] == "attachmentId"
    me = (await elsewhere.client.execute(op.ME)).payload("me")
    verdicts = {a["id"]: a["verdict"] for m in me["materials"] for a in m["attachments"]}
    assert verdicts[picture] == "PENDING"

"""resolvers/candidates.py submit_for_review: 提交审核 locks everything, or says what is missing."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from models import AuditEntry, Candidate, MaterialCategory, ReviewMessage
from models.enums import AuditAction
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate
from tests.helpers.flows import (
    examiner_of,
    fill_required,
    materials_by_code,
    me,
    return_candidate,
    submit,
    uploaded,
)
from tests.helpers.service import Service

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def try_submit(client: GraphQLClient) -> dict[str, Any]:
    return (await client.execute(op.SUBMIT)).payload("submitForReview")


def lock_message(submitted_at: str) -> str:
    local = datetime.fromisoformat(submitted_at).astimezone(SHANGHAI)
    return f"{local.year}/{local.month}/{local.day} {local:%H:%M:%S} 上报完成，内容已锁定。"


async def audit_of(service: Service, candidate_id: int, action: AuditAction) -> list[AuditEntry]:
    with service.db():
        return await AuditEntry.filter(candidate_id=candidate_id, action=action).order_by("id")


async def nothing_changed(service: Service, client: GraphQLClient, candidate_id: int) -> None:
    after = await me(client)
    assert after["status"] == "DRAFT" and after["locked"] is False and after["submittedAt"] is None
    assert after["messages"] == []
    assert await audit_of(service, candidate_id, AuditAction.SUBMIT) == []


async def test_submit_locks_everything_and_writes_the_message(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    payload = await try_submit(candidate_client.client)
    assert payload["errors"] == []
    candidate = payload["candidate"]
    assert candidate["status"] == "SUBMITTED" and candidate["locked"] is True
    assert candidate["submittedAt"] and candidate["replyDeadline"] is None
    assert all(m["locked"] and m["remaining"] == 0 for m in candidate["materials"])
    assert all(a["locked"] for m in candidate["materials"] for a in m["attachments"])

    message = candidate["messages"][0]
    assert message["kind"] == "SYSTEM" and message["authorName"] == "系统"
    assert message["body"] == lock_message(candidate["submittedAt"])
    assert message["readAt"] is None and candidate["unreadMessageCount"] == 1

    [entry] = await audit_of(service, row.id, AuditAction.SUBMIT)
    assert (entry.from_status, entry.to_status) == ("DRAFT", "SUBMITTED")
    assert entry.actor_role == "CANDIDATE" and entry.actor_id == row.id
    with service.db():
        stored = await Candidate.get(id=row.id)
        assert await ReviewMessage.filter(candidate_id=row.id).count() == 1
    assert stored.submitted_at == datetime.fromisoformat(candidate["submittedAt"])
    assert stored.queue_at == stored.submitted_at


async def test_optional_category_is_never_required(
    categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    materials = materials_by_code(await me(candidate_client.client))
    assert materials["ASSISTANT_CERT"]["required"] is False
    await fill_required(candidate_client.client)
    assert materials_by_code(await me(candidate_client.client))["ASSISTANT_CERT"]["attachments"] == []
    assert (await try_submit(candidate_client.client))["errors"] == []


async def test_profile_incomplete(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    row = await make_candidate(service, profile=False)
    client = await signed_in(service, row.username)
    await fill_required(client)
    payload = await try_submit(client)
    assert payload["candidate"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("PROFILE_INCOMPLETE", "phone"),
        ("PROFILE_INCOMPLETE", "address"),
    ]
    await nothing_changed(service, client, row.id)
    await client.aclose()

    phone_only = await make_candidate(service, profile=False, phone="13800138000")
    client = await signed_in(service, phone_only.username)
    await fill_required(client)
    payload = await try_submit(client)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("PROFILE_INCOMPLETE", "address")
    ]
    await nothing_changed(service, client, phone_only.id)
    await client.aclose()

    address_only = await make_candidate(service, profile=False, address="济南市历下区")
    client = await signed_in(service, address_only.username)
    await fill_required(client)
    payload = await try_submit(client)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("PROFILE_INCOMPLETE", "phone")]
    await client.aclose()


async def test_one_error_per_missing_required_category(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    required = [m["category"] for m in (await me(candidate_client.client))["materials"] if m["required"]]
    payload = await try_submit(candidate_client.client)
    assert payload["candidate"] is None
    assert all(e["code"] == "REQUIRED_MATERIAL_MISSING" for e in payload["errors"])
    fields = [e["field"] for e in payload["errors"]]
    assert fields == [f"materials.{c['id']}" for c in required]
    for code in ("ID", "EDU", "PROBATION"):
        assert f"materials.{categories[code].id}" in fields
    assert f"materials.{categories['ASSISTANT_CERT'].id}" not in fields
    await nothing_changed(service, candidate_client.client, row.id)

    # 身份证明 needs two: one picture still counts as missing, and the message says so
    await fill_required(candidate_client.client)
    back = materials_by_code(await me(candidate_client.client))["ID"]["attachments"][1]
    deleted = (await candidate_client.client.execute(op.DELETE, {"id": back["id"]})).payload(
        "deleteAttachment"
    )
    assert deleted["errors"] == []
    payload = await try_submit(candidate_client.client)
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("REQUIRED_MATERIAL_MISSING", f"materials.{categories['ID'].id}")
    ]
    assert "身份证明" in payload["errors"][0]["message"] and "2" in payload["errors"][0]["message"]
    await nothing_changed(service, candidate_client.client, row.id)


async def test_profile_and_materials_reported_together(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    row = await make_candidate(service, profile=False)
    client = await signed_in(service, row.username)
    await uploaded(client, categories["ID"].id)
    await uploaded(client, categories["ID"].id)
    payload = await try_submit(client)
    assert [(e["code"], e["field"]) for e in payload["errors"]][:2] == [
        ("PROFILE_INCOMPLETE", "phone"),
        ("PROFILE_INCOMPLETE", "address"),
    ]
    missing = {e["field"] for e in payload["errors"][2:]}
    assert {f"materials.{categories[c].id}" for c in ("EDU", "PROBATION")} <= missing
    assert f"materials.{categories['ID'].id}" not in missing
    await client.aclose()


async def test_invalid_state_when_submitted_twice(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    first = await submit(candidate_client.client)
    payload = await try_submit(candidate_client.client)
    assert payload["candidate"] is None
    assert [e["code"] for e in payload["errors"]] == ["INVALID_STATE"]
    assert "已提交" in payload["errors"][0]["message"]
    after = await me(candidate_client.client)
    assert after["submittedAt"] == first["submittedAt"]
    assert len(after["messages"]) == 1
    assert len(await audit_of(service, row.id, AuditAction.SUBMIT)) == 1


async def test_invalid_state_after_approval_and_rejection(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    examiner = await examiner_of(service)
    for decision, variables, word in (
        (op.APPROVE, {}, "通过"),
        (op.REJECT, {"reason": "不符合报考条件。"}, "未通过"),
    ):
        row = await make_candidate(service)
        client = await signed_in(service, row.username)
        await fill_required(client)
        await submit(client)
        result = await examiner.execute(decision, {"id": str(row.id), **variables})
        assert not result.errors and result.data is not None
        assert next(iter(result.data.values()))["errors"] == []
        payload = await try_submit(client)
        assert [e["code"] for e in payload["errors"]] == ["INVALID_STATE"]
        assert word in payload["errors"][0]["message"]
        assert (await me(client))["status"] in ("APPROVED", "REJECTED")
        assert len(await audit_of(service, row.id, AuditAction.SUBMIT)) == 1
        await client.aclose()
    await examiner.aclose()


async def test_resubmit_after_a_return(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    first = await submit(candidate_client.client)
    examiner = await examiner_of(service)
    returned = await return_candidate(examiner, row.id, [str(categories["EDU"].id)])
    assert returned["status"] == "RETURNED" and returned["locked"] is False

    edu = materials_by_code(await me(candidate_client.client))["EDU"]["attachments"][0]
    deleted = (await candidate_client.client.execute(op.DELETE, {"id": edu["id"]})).payload(
        "deleteAttachment"
    )
    assert deleted["errors"] == []
    # the return does not lift the rules: the fixed category must be filled again
    missing = await try_submit(candidate_client.client)
    assert [(e["code"], e["field"]) for e in missing["errors"]] == [
        ("REQUIRED_MATERIAL_MISSING", f"materials.{categories['EDU'].id}")
    ]
    await uploaded(candidate_client.client, categories["EDU"].id)

    again = await submit(candidate_client.client)
    assert again["status"] == "SUBMITTED" and again["locked"] is True
    assert again["replyDeadline"] is None
    assert datetime.fromisoformat(again["submittedAt"]) > datetime.fromisoformat(
        first["submittedAt"]
    )
    assert all(m["locked"] and m["remaining"] == 0 for m in again["materials"])
    assert [m["kind"] for m in again["messages"]] == ["SYSTEM", "RETURNED", "SYSTEM"]
    assert again["messages"][0]["body"] == lock_message(again["submittedAt"])

    entries = await audit_of(service, row.id, AuditAction.SUBMIT)
    assert [(e.from_status, e.to_status) for e in entries] == [
        ("DRAFT", "SUBMITTED"),
        ("RETURNED", "SUBMITTED"),
    ]
    [returned_entry] = await audit_of(service, row.id, AuditAction.RETURN)
    assert entries[0].id < returned_entry.id < entries[1].id
    await examiner.aclose()

"""The whole flow of the official candidate guide, through the public API."""

from __future__ import annotations

import re

import httpx

from models import MaterialCategory
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart
from tests.helpers.factories import make_candidate, make_staff
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service


def jpeg(seed: int) -> dict[str, FilePart]:
    return {"file": FilePart(f"photo{seed}.jpg", small_jpeg(seed), "image/jpeg")}


async def test_the_guide_end_to_end(service: Service, categories: dict[str, MaterialCategory]) -> None:
    row = await make_candidate(service, profile=False)
    staff = await make_staff(service)
    candidate = await signed_in(service, row.username)
    examiner = await signed_in(service, staff.username)
    id_card = str(categories["ID"].id)

    # 完善个人信息
    me = (await candidate.execute(op.ME)).payload("me")
    assert me["profileComplete"] is False and me["activatedAt"] is not None
    profile = (
        await candidate.execute(op.UPDATE_PROFILE, {"phone": "13912345678", "address": "济南市历下区"})
    ).payload("updateProfile")
    assert profile["errors"] == [] and profile["candidate"]["profileComplete"]

    # 身份证明 front and back; a third is refused
    uploaded = []
    for seed in (1, 2):
        result = await candidate.upload(op.UPLOAD, {"categoryId": id_card}, jpeg(seed))
        payload = result.payload("uploadAttachment")
        assert payload["errors"] == []
        uploaded.append(payload["attachment"])
    third = (await candidate.upload(op.UPLOAD, {"categoryId": id_card}, jpeg(3))).payload(
        "uploadAttachment"
    )
    assert [e["code"] for e in third["errors"]] == ["CATEGORY_FULL"]

    # delete and re-upload
    deleted = (await candidate.execute(op.DELETE, {"id": uploaded[0]["id"]})).payload("deleteAttachment")
    assert deleted == {"deletedId": uploaded[0]["id"], "errors": []}
    again = (await candidate.upload(op.UPLOAD, {"categoryId": id_card}, jpeg(4))).payload(
        "uploadAttachment"
    )
    assert again["errors"] == []
    for code in ("EDU", "PROBATION"):
        done = (
            await candidate.upload(op.UPLOAD, {"categoryId": str(categories[code].id)}, jpeg(5))
        ).payload("uploadAttachment")
        assert done["errors"] == []

    # the picture is served exactly as uploaded, through its signed address
    async with httpx.AsyncClient() as http:
        picture = await http.get(again["attachment"]["url"])
    assert picture.status_code == 200
    assert picture.content == small_jpeg(4)
    assert picture.headers["x-content-type-options"] == "nosniff"

    # 提交审核 locks everything
    async with candidate.subscribe(op.REVIEW_EVENTS) as events:
        submitted = (await candidate.execute(op.SUBMIT)).payload("submitForReview")
        assert submitted["errors"] == []
        me = submitted["candidate"]
        assert me["status"] == "SUBMITTED" and me["locked"] is True
        assert re.fullmatch(
            r"\d{4}/\d{1,2}/\d{1,2} \d{2}:\d{2}:\d{2} 上报完成，内容已锁定。", me["messages"][0]["body"]
        )
        assert all(m["remaining"] == 0 and m["locked"] for m in me["materials"])
        event = await events.next()
        assert event["data"]["reviewEvents"]["status"] == "SUBMITTED"

        locked = (await candidate.upload(op.UPLOAD, {"categoryId": id_card}, jpeg(6))).payload(
            "uploadAttachment"
        )
        assert [e["code"] for e in locked["errors"]] == ["LOCKED"]

        # the examiner returns 身份证明 with a message; the open subscription receives it
        returned = (
            await examiner.execute(
                op.RETURN,
                {"id": str(row.id), "message": "身份证反面模糊，请重新上传。", "categoryIds": [id_card]},
            )
        ).payload("returnForCorrection")
        assert returned["errors"] == []
        event = (await events.next())["data"]["reviewEvents"]
        assert event["status"] == "RETURNED" and event["locked"] is False
        assert event["message"]["body"] == "身份证反面模糊，请重新上传。"
        assert event["message"]["kind"] == "RETURNED"

    # only 身份证明 is unlocked: fix it and resubmit
    me = (await candidate.execute(op.ME)).payload("me")
    assert me["replyDeadline"] is not None
    by_code = {m["category"]["code"]: m for m in me["materials"]}
    assert by_code["ID"]["locked"] is False and by_code["EDU"]["locked"] is True
    blurred = by_code["ID"]["attachments"][1]["id"]
    assert (await candidate.execute(op.DELETE, {"id": blurred})).payload("deleteAttachment")["errors"] == []
    fixed = (await candidate.upload(op.UPLOAD, {"categoryId": id_card}, jpeg(7))).payload(
        "uploadAttachment"
    )
    assert fixed["errors"] == []
    assert (await candidate.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []

    approved = (await examiner.execute(op.APPROVE, {"id": str(row.id)})).payload("approveCandidate")
    assert approved["errors"] == [] and approved["candidate"]["status"] == "APPROVED"
    me = (await candidate.execute(op.ME)).payload("me")
    assert me["status"] == "APPROVED" and me["locked"] is True
    assert [m["kind"] for m in me["messages"]][:4] == ["APPROVED", "SYSTEM", "RETURNED", "SYSTEM"]
    for client in (candidate, examiner):
        await client.aclose()

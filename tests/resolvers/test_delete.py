"""resolvers/materials.py delete_attachment: success, NOT_FOUND and LOCKED."""

from __future__ import annotations

import uuid
from typing import Any

from models import Attachment, AuditEntry, Candidate, MaterialCategory
from models.enums import AuditAction
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate
from tests.helpers.flows import (
    attachment_ids,
    candidate_files,
    codes,
    examiner_of,
    fetch,
    fill_required,
    materials_by_code,
    me,
    return_candidate,
    stored_files,
    submit,
    uploaded,
)
from tests.helpers.service import Service


async def delete(client: GraphQLClient, attachment_id: str) -> dict[str, Any]:
    return (await client.execute(op.DELETE, {"id": attachment_id})).payload("deleteAttachment")


async def test_delete_removes_row_bytes_and_frees_the_slot(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    front = await uploaded(candidate_client.client, categories["ID"].id)
    back = await uploaded(candidate_client.client, categories["ID"].id)
    with service.db():
        stored = await Attachment.get(id=front["id"])
    keys = {stored.storage_key, stored.thumbnail_key}
    assert keys <= await candidate_files(service, row.id)

    assert await delete(candidate_client.client, front["id"]) == {"deletedId": front["id"], "errors": []}

    assert await attachment_ids(service, row.id) == {back["id"]}
    assert not keys & await candidate_files(service, row.id)
    assert len(await candidate_files(service, row.id)) == 2  # the back picture and its thumbnail
    assert (await fetch(front["url"])).status_code == 404
    assert (await fetch(back["url"])).status_code == 200
    material = materials_by_code(await me(candidate_client.client))["ID"]
    assert [a["id"] for a in material["attachments"]] == [back["id"]]
    assert material["remaining"] == 1
    with service.db():
        audit = await AuditEntry.filter(candidate_id=row.id, action=AuditAction.DELETE).all()
    assert [a.attachment_id for a in audit] == [front["id"]]

    # deleted once is gone: a second delete is NOT_FOUND
    again = await delete(candidate_client.client, front["id"])
    assert again["deletedId"] is None and codes(again) == ["NOT_FOUND"]


async def test_bad_and_unknown_ids_are_not_found(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    kept = await uploaded(candidate_client.client, categories["ID"].id)
    files = await stored_files(service)
    for bad in ("not-a-uuid", "", "123", str(uuid.uuid4()), kept["id"] + "0"):
        payload = await delete(candidate_client.client, bad)
        assert payload["deletedId"] is None
        assert payload["errors"] == [
            {"code": "NOT_FOUND", "message": "图片不存在或无权访问。", "field": "id"}
        ]
    assert await attachment_ids(service, row.id) == {kept["id"]}
    assert await stored_files(service) == files


async def test_another_candidates_picture_looks_exactly_like_absent(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    owner = await make_candidate(service)
    owner_client = await signed_in(service, owner.username)
    theirs = await uploaded(owner_client, categories["ID"].id)
    files = await stored_files(service)

    foreign = await delete(candidate_client.client, theirs["id"])
    absent = await delete(candidate_client.client, str(uuid.uuid4()))
    assert foreign == absent
    assert codes(foreign) == ["NOT_FOUND"]

    assert await attachment_ids(service, owner.id) == {theirs["id"]}
    assert await stored_files(service) == files
    assert (await fetch(theirs["url"])).content
    await owner_client.aclose()


async def test_locked_after_submit(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    await submit(candidate_client.client)
    pictures = [a for m in (await me(candidate_client.client))["materials"] for a in m["attachments"]]
    assert pictures and all(p["locked"] for p in pictures)
    files = await stored_files(service)
    for picture in pictures:
        payload = await delete(candidate_client.client, picture["id"])
        assert payload["deletedId"] is None
        assert codes(payload) == ["LOCKED"]
        assert payload["errors"][0]["field"] == "id"
    assert await attachment_ids(service, row.id) == {p["id"] for p in pictures}
    assert await stored_files(service) == files


async def test_after_a_return_accepted_and_unnamed_pictures_stay_locked(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    await submit(candidate_client.client)
    examiner = await examiner_of(service)
    front, back = materials_by_code(await me(candidate_client.client))["ID"]["attachments"]
    verdict = (
        await examiner.execute(
            op.VERDICT, {"id": front["id"], "verdict": "ACCEPTED", "note": "清晰"}
        )
    ).payload("setAttachmentVerdict")
    assert verdict["errors"] == [] and verdict["attachment"]["verdict"] == "ACCEPTED"
    await return_candidate(examiner, row.id, None)  # names no category: all unlock

    materials = materials_by_code(await me(candidate_client.client))
    by_id = {a["id"]: a for a in materials["ID"]["attachments"]}
    assert by_id[front["id"]]["locked"] is True and by_id[back["id"]]["locked"] is False
    files = await stored_files(service)
    refused = await delete(candidate_client.client, front["id"])
    assert codes(refused) == ["LOCKED"]
    assert await stored_files(service) == files
    assert front["id"] in await attachment_ids(service, row.id)

    assert (await delete(candidate_client.client, back["id"]))["errors"] == []
    assert await attachment_ids(service, row.id) >= {front["id"]}
    assert back["id"] not in await attachment_ids(service, row.id)


async def test_after_a_return_naming_one_category_others_stay_locked(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    await fill_required(candidate_client.client)
    await submit(candidate_client.client)
    examiner = await examiner_of(service)
    await return_candidate(examiner, candidate_client.row.id, [str(categories["ID"].id)])
    materials = materials_by_code(await me(candidate_client.client))
    edu = materials["EDU"]["attachments"][0]
    assert edu["locked"] is True
    assert codes(await delete(candidate_client.client, edu["id"])) == ["LOCKED"]
    front = materials["ID"]["attachments"][0]
    assert (await delete(candidate_client.client, front["id"]))["errors"] == []


async def test_locked_for_good_after_approval(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    await fill_required(candidate_client.client)
    await submit(candidate_client.client)
    examiner = await examiner_of(service)
    approved = (
        await examiner.execute(op.APPROVE, {"id": str(candidate_client.row.id)})
    ).payload("approveCandidate")
    assert approved["errors"] == []
    picture = materials_by_code(await me(candidate_client.client))["EDU"]["attachments"][0]
    assert codes(await delete(candidate_client.client, picture["id"])) == ["LOCKED"]

"""resolvers/lookalikes.py: the fingerprint of every picture, SAME_AS_REJECTED when the picture an
examiner asked to replace comes back, and look-alikes across candidates for staff only.

Every picture here is a photo of a made-up document with seeds of this file's own, so other
tests' pictures never look alike to them.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from models import LookalikePair, MaterialCategory, PictureFingerprint
from models.enums import AttachmentVerdict
from resolvers.lookalikes import (
    SAME_AS_REJECTED_MESSAGE,
    blocks,
    probe_sets,
    signed,
    unsigned,
)
from storage.measures import hash_distance
from tests.helpers import operations as op
from tests.helpers.accounts import (
    SignedInCandidate,
    SignedInStaff,
    candidate_signed_in,
    staff_signed_in,
)
from tests.helpers.client import GraphQLClient
from tests.helpers.documents import document_photo, reencoded, resized, turned
from tests.helpers.factories import load_demo_categories, unique
from tests.helpers.flows import fill_required, refused, return_candidate, submit, upload, uploaded
from tests.helpers.service import Service, start_service, test_settings


async def mark(examiner: GraphQLClient, attachment_id: str, verdict: str) -> None:
    payload = (
        await examiner.execute(op.VERDICT, {"id": attachment_id, "verdict": verdict, "note": "请重拍"})
    ).payload("setAttachmentVerdict")
    assert payload["errors"] == [], payload


async def fingerprint(service: Service, attachment_id: str) -> PictureFingerprint:
    with service.db():
        return await PictureFingerprint.get(attachment_id=attachment_id)


# ---- the index's arithmetic -----------------------------------------------------------------


def test_blocks_and_probes_cover_every_hash_within_the_distance() -> None:
    phash = 0xF0F0_1234_ABCD_8001
    assert unsigned(signed(phash)) == phash and signed(phash) < 0
    parts = blocks(phash)
    assert [p.bit_length() <= w for p, w in zip(parts, (22, 21, 21), strict=True)] == [True] * 3
    # Dealt bit by bit: the most significant bit leads block 0, the next block 1, …
    assert parts[0] >> 21 == 1 and parts[1] >> 20 == 1 and parts[2] >> 20 == 1
    sets = probe_sets(phash, 6)
    assert [len(s) for s in sets] == [1 + 22 + 231, 1 + 21 + 210, 1 + 21 + 210]
    rng = random.Random(5)
    for _ in range(300):  # any six flipped bits leave some block within two bits: probed
        near = phash
        for bit in rng.sample(range(64), 6):
            near ^= 1 << bit
        assert hash_distance(near, phash) == 6
        assert any(b in s for b, s in zip(blocks(near), sets, strict=True))


# ---- SAME_AS_REJECTED ------------------------------------------------------------------------


async def returned_with_a_rejected_picture(
    service: Service, categories: dict[str, MaterialCategory], examiner: SignedInStaff, picture: bytes
) -> tuple[SignedInCandidate, dict[str, Any]]:
    """A candidate whose first 身份证明 picture the examiner marked 需更换 and returned."""
    candidate = await candidate_signed_in(service)
    rejected = await uploaded(candidate.client, categories["ID"].id, picture)
    await fill_required(candidate.client)
    await submit(candidate.client)
    await mark(examiner.client, rejected["id"], AttachmentVerdict.NEEDS_REPLACEMENT.value)
    await return_candidate(examiner.client, candidate.row.id, [str(categories["ID"].id)])
    return candidate, rejected


async def test_the_rejected_picture_sent_back_is_refused_until_it_is_retaken(
    service: Service, categories: dict[str, MaterialCategory], examiner_client: SignedInStaff
) -> None:
    """Upload, 需更换 and return, delete, then the same picture re-encoded: refused, nothing
    stored; a new photo of the same document goes through."""
    picture = document_photo(601)
    candidate, rejected = await returned_with_a_rejected_picture(
        service, categories, examiner_client, picture
    )
    deleted = (await candidate.client.execute(op.DELETE, {"id": rejected["id"]})).payload("deleteAttachment")
    assert deleted["errors"] == []
    kept = await fingerprint(service, rejected["id"])
    assert kept.deleted_at is not None and kept.verdict == AttachmentVerdict.NEEDS_REPLACEMENT

    for again in (reencoded(picture, 70), resized(picture, 0.8), turned(picture, 6)):
        error = await refused(
            service, candidate.client, candidate.row.id, categories["ID"].id, again, "SAME_AS_REJECTED"
        )
        assert error == {"code": "SAME_AS_REJECTED", "message": SAME_AS_REJECTED_MESSAGE, "field": "file"}

    retaken = await uploaded(candidate.client, categories["ID"].id, document_photo(601, retake=1))
    assert retaken["verdict"] == AttachmentVerdict.PENDING.value
    await candidate.client.aclose()


async def test_refused_while_the_rejected_picture_is_still_there_and_only_for_its_owner(
    service: Service, categories: dict[str, MaterialCategory], examiner_client: SignedInStaff
) -> None:
    picture = document_photo(602, "diploma")
    candidate, rejected = await returned_with_a_rejected_picture(
        service, categories, examiner_client, picture
    )
    # 身份证明 takes two pictures: free the other slot, the rejected one stays in the first.
    (other_id,) = await ids_in(candidate, "ID") - {rejected["id"]}
    assert (await candidate.client.execute(op.DELETE, {"id": other_id})).payload("deleteAttachment")["errors"] == []
    await refused(
        service, candidate.client, candidate.row.id, categories["ID"].id,
        reencoded(picture, 60), "SAME_AS_REJECTED",
    )
    # Another candidate may send a picture like it (a look-alike for staff, not a refusal).
    other = await candidate_signed_in(service)
    await uploaded(other.client, categories["ID"].id, reencoded(picture, 60))
    for signed_in in (candidate, other):
        await signed_in.client.aclose()


async def test_fingerprint_follows_every_verdict_and_remembers_the_request(
    service: Service, categories: dict[str, MaterialCategory], examiner_client: SignedInStaff
) -> None:
    candidate = await candidate_signed_in(service)
    picture = await uploaded(candidate.client, categories["EDU"].id, document_photo(603, "certificate"))
    assert (await fingerprint(service, picture["id"])).verdict == AttachmentVerdict.PENDING
    await fill_required(candidate.client)
    await submit(candidate.client)
    await mark(examiner_client.client, picture["id"], "NEEDS_REPLACEMENT")
    asked = await fingerprint(service, picture["id"])
    assert asked.verdict == AttachmentVerdict.NEEDS_REPLACEMENT and asked.replacement_asked_at
    await mark(examiner_client.client, picture["id"], "ACCEPTED")
    changed = await fingerprint(service, picture["id"])
    assert changed.verdict == AttachmentVerdict.ACCEPTED
    assert changed.replacement_asked_at == asked.replacement_asked_at  # "ever marked" stays
    await candidate.client.aclose()


# ---- look-alikes across candidates ----------------------------------------------------------


async def ids_in(candidate: SignedInCandidate, code: str) -> set[str]:
    result = await candidate.client.execute(op.ME)
    assert result.data is not None
    return {
        a["id"] for m in result.data["me"]["materials"] if m["category"]["code"] == code
        for a in m["attachments"]
    }


async def attachments_seen(client: GraphQLClient, candidate_id: int | None = None) -> list[dict[str, Any]]:
    if candidate_id is None:
        result = await client.execute(op.MY_LOOKALIKES)
        materials = result.data["me"]["materials"]  # type: ignore[index]
    else:
        result = await client.execute(op.CANDIDATE_LOOKALIKES, {"id": str(candidate_id)})
        materials = result.data["candidate"]["materials"]  # type: ignore[index]
    assert not result.errors, result.errors
    return [a for m in materials for a in m["attachments"]]


async def test_lookalikes_across_candidates_in_scope_and_counted_everywhere(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    region, site, elsewhere = unique("相似区"), unique("甲点"), unique("乙点")
    examiner = await staff_signed_in(service, region=region, site=site)
    region_admin = await staff_signed_in(service, region=region, site=None)
    picture = document_photo(604)
    first = await candidate_signed_in(service, region=region, site=site)
    second = await candidate_signed_in(service, region=region, site=site)
    other_site = await candidate_signed_in(service, region=region, site=elsewhere)
    mine = await uploaded(first.client, categories["ID"].id, picture)
    await uploaded(second.client, categories["EDU"].id, reencoded(picture, 65))
    await uploaded(other_site.client, categories["ID"].id, resized(picture, 0.8))
    unrelated = await uploaded(first.client, categories["PROBATION"].id, document_photo(605, "diploma"))

    seen = {a["id"]: a for a in await attachments_seen(examiner.client, first.row.id)}
    found = seen[mine["id"]]
    assert found["lookalikeCount"] == 2  # the other site's picture is counted, not shown
    assert found["lookalikes"] == [
        {
            "candidateId": second.id,
            "admissionNo": second.row.admission_no,
            "candidateName": second.row.name,
            "categoryName": categories["EDU"].name,
            "distance": found["lookalikes"][0]["distance"],
            "sameCandidate": False,
        }
    ]
    assert 0 <= found["lookalikes"][0]["distance"] <= 6
    assert seen[unrelated["id"]]["lookalikes"] == [] and seen[unrelated["id"]]["lookalikeCount"] == 0

    # The whole region sees both; the candidates themselves learn nothing of each other.
    across = {a["id"]: a for a in await attachments_seen(region_admin.client, first.row.id)}
    assert {x["candidateId"] for x in across[mine["id"]]["lookalikes"]} == {second.id, other_site.id}
    for signed_in in (first, second):
        for picture_seen in await attachments_seen(signed_in.client):
            assert picture_seen["lookalikes"] == [] and picture_seen["lookalikeCount"] == 0

    # A deleted picture is no longer a look-alike.
    await upload(second.client, categories["EDU"].id)  # full category: refused, changes nothing
    second_pictures = await attachments_seen(region_admin.client, second.row.id)
    for picture_seen in second_pictures:
        await second.client.execute(op.DELETE, {"id": picture_seen["id"]})
    after = {a["id"]: a for a in await attachments_seen(examiner.client, first.row.id)}
    assert after[mine["id"]]["lookalikes"] == [] and after[mine["id"]]["lookalikeCount"] == 1
    for client in (examiner.client, region_admin.client, first.client, second.client, other_site.client):
        await client.aclose()


async def test_one_picture_sent_by_many_keeps_the_nearest_and_counts_them_all(tmp_path: Path) -> None:
    """A picture many candidates send (a sample form, a template) must not make each upload
    record a pair with every earlier one: the nearest `lookalikes_kept` are kept and listed,
    and the count still says how many there are."""
    running = await start_service(test_settings(tmp_path, lookalikes_kept=2))
    try:
        categories = await load_demo_categories(running, tmp_path)
        region, site = unique("模板区"), unique("模板点")
        admin = await staff_signed_in(running, region=region, site=None)
        picture = document_photo(611)
        sent = [picture, reencoded(picture, 65), resized(picture, 0.8), picture]
        owners = [await candidate_signed_in(running, region=region, site=site) for _ in sent]
        uploads = [
            await uploaded(owner.client, categories["ID"].id, data)
            for owner, data in zip(owners, sent, strict=True)
        ]
        with running.db():
            recorded = await LookalikePair.filter(attachment_id=uploads[-1]["id"]).count()
        assert recorded == 2  # three look alike; the two nearest are kept

        seen = {a["id"]: a for a in await attachments_seen(admin.client, owners[0].row.id)}
        first = seen[uploads[0]["id"]]
        assert first["lookalikeCount"] == 3
        listed = first["lookalikes"]
        assert len(listed) == 2
        # Nearest first: the very same picture (distance 0) leads.
        assert listed[0]["distance"] == 0 <= listed[1]["distance"] <= 6
        assert {x["candidateId"] for x in listed} <= {o.id for o in owners[1:]}
        for client in [admin.client, *(o.client for o in owners)]:
            await client.aclose()
    finally:
        await running.stop()

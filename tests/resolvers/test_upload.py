"""resolvers/materials.py upload_attachment: the success path and every ErrorCode it can return.

Every refusal must leave nothing stored: no new attachment row, no new file in the store, and the
candidate's earlier pictures untouched.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from PIL import Image

from core.security import sign_path
from models import Attachment, AuditEntry, Candidate, MaterialCategory
from models.enums import AuditAction
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, signed_in
from tests.helpers.documents import document_photo
from tests.helpers.factories import make_candidate, unique
from tests.helpers.flows import (
    candidate_files,
    examiner_of,
    fetch,
    fill_required,
    make_category,
    materials_by_code,
    me,
    refused,
    return_candidate,
    submit,
    upload,
    uploaded,
)
from tests.helpers.pictures import (
    bomb,
    gif,
    good_png,
    jpeg_of_size,
    jpeg_with_html,
    over_cap_jpeg,
    photo,
    png_with_cut_pixels,
    png_with_zip,
    small_bmp,
    small_jpeg,
    text_named_jpg,
    tiny_jpeg,
    truncated_jpeg,
    webp,
)
from tests.helpers.service import Service

# ---- success ----------------------------------------------------------------------------------------


async def test_upload_stores_bytes_row_thumbnail_and_audit(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    data = small_jpeg(42)
    picture = await uploaded(candidate_client.client, categories["ID"].id, data)
    assert picture["contentType"] == "image/jpeg"
    assert picture["byteSize"] == len(data)
    assert picture["sha256"] == hashlib.sha256(data).hexdigest()
    assert (picture["width"], picture["height"]) == (640, 480)
    assert picture["locked"] is False and picture["verdict"] == "PENDING"
    assert picture["verdictNote"] is None and picture["uploadedAt"]
    assert picture["category"]["code"] == "ID"

    with service.db():
        stored = await Attachment.get(id=picture["id"])
        audit = await AuditEntry.filter(candidate_id=row.id, action=AuditAction.UPLOAD).all()
    assert stored.slot == 0 and stored.candidate_id == row.id
    assert stored.storage_key == f"pictures/{row.id}/{picture['id']}.jpg"
    assert stored.thumbnail_key == f"thumbnails/{row.id}/{picture['id']}.jpg"
    assert await candidate_files(service, row.id) == {stored.storage_key, stored.thumbnail_key}
    assert await service.services.store.get(stored.storage_key) == data
    assert [a.attachment_id for a in audit] == [picture["id"]]
    assert audit[0].from_status == audit[0].to_status == "DRAFT"

    material = materials_by_code(await me(candidate_client.client))["ID"]
    assert [a["id"] for a in material["attachments"]] == [picture["id"]]
    assert material["remaining"] == 1 and material["locked"] is False


async def test_png_upload_is_served_as_png(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    data = good_png()
    payload = await upload(candidate_client.client, categories["EDU"].id, data, "scan.jpg", "image/jpeg")
    picture = payload["attachment"]
    assert payload["errors"] == [] and picture["contentType"] == "image/png"
    response = await fetch(picture["url"])
    assert response.status_code == 200 and response.content == data
    assert response.headers["content-type"] == "image/png"
    assert response.headers["x-content-type-options"] == "nosniff"
    row: Candidate = candidate_client.row
    assert f"pictures/{row.id}/{picture['id']}.png" in await candidate_files(service, row.id)


async def test_exactly_the_cap_is_accepted(
    categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    picture = await uploaded(candidate_client.client, categories["EDU"].id, jpeg_of_size(204800))
    assert picture["byteSize"] == 204800


async def test_uploads_fill_the_next_free_slot(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    id_card = categories["ID"].id

    async def slots() -> dict[str, int]:
        with service.db():
            return {str(a.id): a.slot for a in await Attachment.filter(candidate_id=row.id)}

    front = await uploaded(candidate_client.client, id_card)
    back = await uploaded(candidate_client.client, id_card)
    assert await slots() == {front["id"]: 0, back["id"]: 1}

    deleted = (await candidate_client.client.execute(op.DELETE, {"id": front["id"]})).payload(
        "deleteAttachment"
    )
    assert deleted["errors"] == []
    assert materials_by_code(await me(candidate_client.client))["ID"]["remaining"] == 1

    again = await uploaded(candidate_client.client, id_card)
    assert await slots() == {again["id"]: 0, back["id"]: 1}
    material = materials_by_code(await me(candidate_client.client))["ID"]
    assert [a["id"] for a in material["attachments"]] == [again["id"], back["id"]]
    assert material["remaining"] == 0

    deleted = (await candidate_client.client.execute(op.DELETE, {"id": back["id"]})).payload(
        "deleteAttachment"
    )
    assert deleted["errors"] == []
    last = await uploaded(candidate_client.client, id_card)
    assert await slots() == {again["id"]: 0, last["id"]: 1}


# ---- refusals -----------------------------------------------------------------------------------------


async def test_unknown_category_is_not_found(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    earlier = [await uploaded(candidate_client.client, categories["ID"].id)]
    for category_id in ("999999999", "abc", "-1", "", "1" * 30):
        error = await refused(
            service, candidate_client.client, row.id, category_id, small_jpeg(), "NOT_FOUND", earlier
        )
        assert error["field"] == "categoryId"


async def test_category_of_another_region_is_not_applicable(
    service: Service,
    categories: dict[str, MaterialCategory],
    candidate_client: SignedInCandidate,
    tmp_path: Path,
) -> None:
    row: Candidate = candidate_client.row
    elsewhere = await make_category(service, tmp_path, unique("考区"), required=True, maxCount=3)
    earlier = [await uploaded(candidate_client.client, categories["ID"].id)]
    error = await refused(
        service,
        candidate_client.client,
        row.id,
        elsewhere.id,
        small_jpeg(),
        "CATEGORY_NOT_APPLICABLE",
        earlier,
    )
    assert error["field"] == "categoryId" and elsewhere.name in error["message"]
    assert "测试材料" not in json.dumps(await me(candidate_client.client), ensure_ascii=False)


async def test_locked_after_submit(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    await submit(candidate_client.client)
    earlier = materials_by_code(await me(candidate_client.client))["ID"]["attachments"]
    for code in ("ASSISTANT_CERT", "EDU"):
        error = await refused(
            service, candidate_client.client, row.id, categories[code].id, small_jpeg(), "LOCKED", earlier
        )
        assert error["field"] == "categoryId"
    # the bad file is not even looked at: LOCKED wins over its content
    await refused(service, candidate_client.client, row.id, categories["EDU"].id, gif(), "LOCKED", earlier)


async def test_after_a_return_only_named_categories_take_uploads(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    await submit(candidate_client.client)
    examiner = await examiner_of(service)
    await return_candidate(examiner, row.id, [str(categories["ID"].id)])
    materials = materials_by_code(await me(candidate_client.client))
    earlier = materials["ID"]["attachments"]

    # ASSISTANT_CERT has room but was not named: locked
    assert materials["ASSISTANT_CERT"]["locked"] is True
    assert materials["ASSISTANT_CERT"]["remaining"] == 0
    await refused(
        service,
        candidate_client.client,
        row.id,
        categories["ASSISTANT_CERT"].id,
        small_jpeg(),
        "LOCKED",
        earlier,
    )
    # ID was named: unlocked, but full until a picture is deleted
    assert materials["ID"]["locked"] is False
    await refused(
        service,
        candidate_client.client,
        row.id,
        categories["ID"].id,
        small_jpeg(),
        "CATEGORY_FULL",
        earlier,
    )
    deleted = (await candidate_client.client.execute(op.DELETE, {"id": earlier[1]["id"]})).payload(
        "deleteAttachment"
    )
    assert deleted["errors"] == []
    added = await uploaded(candidate_client.client, categories["ID"].id)
    assert added["locked"] is False
    await examiner.aclose()


async def test_third_picture_is_category_full(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    id_card = categories["ID"].id
    earlier = [await uploaded(candidate_client.client, id_card), await uploaded(candidate_client.client, id_card)]
    error = await refused(
        service, candidate_client.client, row.id, id_card, small_jpeg(), "CATEGORY_FULL", earlier
    )
    assert error["field"] == "categoryId" and "2" in error["message"]
    # full wins over a bad file too: nothing about the file is worth reporting
    await refused(service, candidate_client.client, row.id, id_card, gif(), "CATEGORY_FULL", earlier)


CORPUS: list[tuple[str, Callable[[], bytes], str, str, str]] = [
    ("text-named-jpg", text_named_jpg, "photo.jpg", "image/jpeg", "NOT_AN_IMAGE"),
    ("zero-bytes", lambda: b"", "photo.jpg", "image/jpeg", "NOT_AN_IMAGE"),
    ("truncated-jpeg", truncated_jpeg, "photo.jpg", "image/jpeg", "NOT_AN_IMAGE"),
    ("jpeg-with-html", jpeg_with_html, "photo.jpg", "image/jpeg", "NOT_AN_IMAGE"),
    ("png-with-zip", png_with_zip, "photo.png", "image/png", "NOT_AN_IMAGE"),
    ("png-cut-pixels", png_with_cut_pixels, "photo.png", "image/png", "NOT_AN_IMAGE"),
    ("gif", gif, "photo.jpg", "image/jpeg", "UNSUPPORTED_FORMAT"),
    ("gif-by-name", gif, "photo.gif", "image/gif", "UNSUPPORTED_FORMAT"),
    ("webp", webp, "photo.jpg", "image/jpeg", "UNSUPPORTED_FORMAT"),
    ("bmp", small_bmp, "photo.png", "image/png", "UNSUPPORTED_FORMAT"),
    ("201kb-jpeg", over_cap_jpeg, "photo.jpg", "image/jpeg", "FILE_TOO_LARGE"),
    ("png-bomb-20000", bomb, "photo.png", "image/png", "FILE_TOO_LARGE"),
    ("200x200-jpeg", tiny_jpeg, "photo.jpg", "image/jpeg", "IMAGE_TOO_SMALL"),
]


@pytest.mark.parametrize(
    ("make", "filename", "content_type", "expected"),
    [case[1:] for case in CORPUS],
    ids=[case[0] for case in CORPUS],
)
async def test_bad_files_are_refused_and_nothing_is_stored(
    service: Service,
    categories: dict[str, MaterialCategory],
    candidate_client: SignedInCandidate,
    make: Callable[[], bytes],
    filename: str,
    content_type: str,
    expected: str,
) -> None:
    row: Candidate = candidate_client.row
    earlier = [await uploaded(candidate_client.client, categories["ID"].id)]
    error = await refused(
        service,
        candidate_client.client,
        row.id,
        categories["ID"].id,
        make(),
        expected,
        earlier,
        filename,
        content_type,
    )
    assert error["field"] == "file"
    # the slot stayed free
    assert materials_by_code(await me(candidate_client.client))["ID"]["remaining"] == 1


async def test_refusal_messages_say_what_is_wrong(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    edu = categories["EDU"].id
    too_big = await refused(
        service, candidate_client.client, row.id, edu, over_cap_jpeg(), "FILE_TOO_LARGE"
    )
    assert "201 KB" in too_big["message"] and "200 KB" in too_big["message"]
    bomb_error = await refused(service, candidate_client.client, row.id, edu, bomb(), "FILE_TOO_LARGE")
    assert "像素" in bomb_error["message"]
    gif_error = await refused(service, candidate_client.client, row.id, edu, gif(), "UNSUPPORTED_FORMAT")
    assert "GIF" in gif_error["message"]
    small = await refused(service, candidate_client.client, row.id, edu, tiny_jpeg(), "IMAGE_TOO_SMALL")
    assert "200×200" in small["message"] and "300" in small["message"]


async def test_png_refused_where_the_category_takes_only_jpeg(
    service: Service, tmp_path: Path
) -> None:
    region = unique("考区")
    jpeg_only = await make_category(service, tmp_path, region, formats=["jpeg"], maxCount=2)
    row = await make_candidate(service, region=region, site="一号考点")
    client = await signed_in(service, row.username)
    earlier = [await uploaded(client, jpeg_only.id)]
    error = await refused(
        service,
        client,
        row.id,
        jpeg_only.id,
        good_png(),
        "UNSUPPORTED_FORMAT",
        earlier,
        "a.png",
        "image/png",
    )
    assert "PNG" in error["message"] and "jpg" in error["message"]
    await client.aclose()


async def test_quality_is_measured_and_warned_about_without_refusing(
    service: Service, candidate_client: SignedInCandidate, categories: dict[str, MaterialCategory]
) -> None:
    client = candidate_client.client
    sharp = await uploaded(client, categories["ID"].id, document_photo(651))
    blurred = await uploaded(client, categories["ID"].id, document_photo(652, blur=4))
    assert sharp["quality"]["warnings"] == []
    assert blurred["quality"]["warnings"] == ["BLURRY"]
    assert blurred["quality"]["sharpness"] < sharp["quality"]["sharpness"] / 3
    assert 0 < sharp["quality"]["brightness"] < 255 and 0 <= sharp["quality"]["glare"] < 1
    # What the upload answered is what the candidate reads later.
    stored = materials_by_code(await me(client))["ID"]["attachments"]
    assert [a["quality"] for a in stored] == [sharp["quality"], blurred["quality"]]


async def test_a_category_may_refuse_named_warnings(service: Service, tmp_path: Path) -> None:
    region = unique("考区")
    strict = await make_category(service, tmp_path, region, refuseWarnings=["BLURRY"], maxCount=2)
    row = await make_candidate(service, region=region, site="一号考点")
    client = await signed_in(service, row.username)
    earlier = [await uploaded(client, strict.id, document_photo(653, "diploma"))]
    error = await refused(
        service, client, row.id, strict.id, document_photo(654, "diploma", blur=5), "POOR_QUALITY", earlier
    )
    assert "模糊" in error["message"] and strict.name in error["message"]
    assert error["field"] == "file"
    await client.aclose()


# ---- what is stored, and how it is served ------------------------------------------------------------


async def test_exif_orientation_6_is_stored_as_sent_and_shown_upright(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    data = photo(1200, 900, orientation=6, seed=6)
    assert len(data) <= 204800
    picture = await uploaded(candidate_client.client, categories["ID"].id, data)
    assert (picture["width"], picture["height"]) == (900, 1200)
    assert picture["byteSize"] == len(data)
    assert picture["sha256"] == hashlib.sha256(data).hexdigest()
    with service.db():
        assert (await Attachment.get(id=picture["id"])).orientation == 6

    original = await fetch(picture["url"])
    assert original.status_code == 200
    assert original.content == data  # byte-identical, EXIF and all
    assert hashlib.sha256(original.content).hexdigest() == picture["sha256"]
    assert original.headers["content-type"] == "image/jpeg"
    assert original.headers["x-content-type-options"] == "nosniff"

    thumb = await fetch(picture["thumbnailUrl"])
    assert thumb.status_code == 200
    assert thumb.headers["content-type"] == "image/jpeg"
    assert thumb.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(thumb.content)) as image:
        image.load()
        assert image.format == "JPEG"
        assert image.width < image.height  # upright, as the person sees it
        assert not image.getexif()
        assert "exif" not in image.info


async def test_signed_urls_refuse_tampering_other_paths_and_expiry(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    first = await uploaded(candidate_client.client, categories["ID"].id)
    second = await uploaded(candidate_client.client, categories["ID"].id)
    url = httpx.URL(first["url"])
    sig = url.params["sig"]

    tampered = url.copy_set_param("sig", ("A" if sig[0] != "A" else "B") + sig[1:])
    other_path = str(url).replace(first["id"], second["id"])
    assert other_path != str(url)
    no_sig = url.copy_remove_param("sig")
    later = url.copy_set_param("exp", str(int(url.params["exp"]) + 3600))
    expired = service.base_url + sign_path(
        service.settings.secret_key, f"/pictures/{first['id']}/original", -1
    )
    other_variant = service.base_url + sign_path(
        service.settings.secret_key, f"/pictures/{first['id']}/raw", 60
    )
    for bad in (tampered, other_path, no_sig, later, expired, other_variant):
        response = await fetch(str(bad))
        assert response.status_code == 403, bad
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-type"].startswith("text/plain")

    # a fresh signature made the same way is honoured: the 403s above are about the signature
    fresh = service.base_url + sign_path(
        service.settings.secret_key, f"/pictures/{first['id']}/original", 60
    )
    response = await fetch(fresh)
    assert response.status_code == 200
    assert hashlib.sha256(response.content).hexdigest() == first["sha256"]

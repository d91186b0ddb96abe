"""resolvers/picture_access.py: staff openings of original pictures, recorded and read by ADMIN."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from models import MaterialCategory, PictureAccess
from models.enums import Role
from server.database import database
from tests.helpers import operations as op
from tests.helpers.accounts import (
    SignedInCandidate,
    SignedInStaff,
    candidate_signed_in,
    staff_signed_in,
)
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import load_demo_categories
from tests.helpers.flows import fetch, uploaded
from tests.helpers.service import Service, start_service, test_settings
from tests.helpers.waiting import eventually

ACCESS_LOG = """
query($id: ID!, $first: Int) {
  pictureAccessLog(candidateId: $id, first: $first) {
    at viewerName viewerRole attachmentId categoryName
  }
}
"""


async def picture_urls(staff: SignedInStaff, candidate_id: str) -> dict[str, str]:
    """The first picture's signed links as this member of staff receives them."""
    result = await staff.client.execute(op.CANDIDATE, {"id": candidate_id})
    assert not result.errors, result.errors
    assert result.data is not None
    picture = result.data["candidate"]["materials"][0]["attachments"][0]
    return {"url": picture["url"], "thumbnailUrl": picture["thumbnailUrl"]}


async def access_log(admin: SignedInStaff, candidate_id: str, first: int | None = None) -> Any:
    result = await admin.client.execute(ACCESS_LOG, {"id": candidate_id, "first": first})
    return result.data["pictureAccessLog"] if result.data and not result.errors else result.error_codes


async def test_an_examiners_openings_of_an_original_are_listed_for_admin(
    service: Service,
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
    categories: dict[str, MaterialCategory],
) -> None:
    picture = await uploaded(candidate_client.client, categories["ID"].id)
    admin = await staff_signed_in(service, site=None, role=Role.ADMIN)
    links = await picture_urls(examiner_client, candidate_client.id)
    assert "by=s" in links["url"]
    started = datetime.now(UTC)
    for _ in range(2):
        opened = await fetch(links["url"])
        assert opened.status_code == 200
        assert opened.headers["cache-control"] == "private, no-store"  # every opening reaches us
    assert (await fetch(links["thumbnailUrl"])).status_code == 200  # previews are not logged
    assert (await fetch(picture["url"])).status_code == 200  # nor the candidate's own view
    admin_links = await picture_urls(admin, candidate_client.id)
    assert (await fetch(admin_links["url"])).status_code == 200

    async def three_openings() -> bool:
        return len(await access_log(admin, candidate_client.id)) == 3

    await eventually(three_openings, "three openings written")
    newest, *earlier = await access_log(admin, candidate_client.id)
    assert newest["viewerName"] == admin.row.name and newest["viewerRole"] == "ADMIN"
    for entry in earlier:
        assert entry["viewerName"] == examiner_client.row.name
        assert entry["viewerRole"] == "EXAMINER"
    for entry in [newest, *earlier]:
        assert entry["attachmentId"] == picture["id"]
        assert entry["categoryName"] == "身份证明"
        assert started - timedelta(seconds=5) < datetime.fromisoformat(entry["at"]) < datetime.now(UTC)
    assert [e["at"] for e in [newest, *earlier]] == sorted((e["at"] for e in [newest, *earlier]), reverse=True)
    assert len(await access_log(admin, candidate_client.id, first=1)) == 1
    await admin.client.aclose()


async def test_only_admins_read_it_and_only_in_scope(
    service: Service,
    anonymous: GraphQLClient,
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
    categories: dict[str, MaterialCategory],
) -> None:
    await uploaded(candidate_client.client, categories["ID"].id)
    assert (await fetch((await picture_urls(examiner_client, candidate_client.id))["url"])).status_code == 200
    elsewhere = await staff_signed_in(service, region="江苏省", site=None, role=Role.ADMIN)
    admin = await staff_signed_in(service, site=None, role=Role.ADMIN)
    try:
        # Out of scope looks exactly like a candidate with no openings.
        assert await access_log(elsewhere, candidate_client.id) == []
        assert await access_log(admin, "999999999") == []
        assert await access_log(admin, "not-an-id") == []
        assert await access_log(examiner_client, candidate_client.id) == ["FORBIDDEN"]
        mine = await candidate_client.client.execute(ACCESS_LOG, {"id": candidate_client.id})
        assert mine.error_codes == ["FORBIDDEN"]
        nobody = await anonymous.execute(ACCESS_LOG, {"id": candidate_client.id})
        assert nobody.error_codes == ["UNAUTHENTICATED"]
        assert await access_log(admin, candidate_client.id, first=0) == ["BAD_USER_INPUT"]
        assert await access_log(admin, candidate_client.id, first=101) == ["BAD_USER_INPUT"]
    finally:
        await elsewhere.client.aclose()
        await admin.client.aclose()


def with_query(url: str, **changes: str | None) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return parts._replace(query=urlencode(query)).geturl()


async def test_a_link_cannot_be_reattributed_or_made_anonymous(
    service: Service,
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
    categories: dict[str, MaterialCategory],
) -> None:
    await uploaded(candidate_client.client, categories["ID"].id)
    url = (await picture_urls(examiner_client, candidate_client.id))["url"]
    other = f"s{int(examiner_client.id) + 1}"
    assert (await fetch(with_query(url, by=other))).status_code == 403
    assert (await fetch(with_query(url, by=None))).status_code == 403
    assert (await fetch(with_query(url, by="c1"))).status_code == 403
    assert (await fetch(url)).status_code == 200


async def test_openings_are_written_in_batches_and_at_shutdown(tmp_path: Path) -> None:
    # A flush interval of an hour: only a full batch or the shutdown writes anything.
    settings = test_settings(tmp_path, access_log_flush_seconds=3600.0, access_log_batch=5)
    running = await start_service(settings)
    (tmp_path / "examples").mkdir()
    await load_demo_categories(running, tmp_path / "examples")
    candidate = await candidate_signed_in(running)
    examiner = await staff_signed_in(running)
    try:
        with running.db():
            category = await MaterialCategory.get(code="ID")
        await uploaded(candidate.client, category.id)
        url = (await picture_urls(examiner, candidate.id))["url"]

        async def written() -> int:
            with running.db():
                return await PictureAccess.filter(candidate_id=candidate.row.id).count()

        for _ in range(4):
            assert (await fetch(url)).status_code == 200
        assert await written() == 0  # answered before anything was written
        assert (await fetch(url)).status_code == 200  # the fifth fills the batch

        async def batch_written() -> bool:
            return await written() == 5

        await eventually(batch_written, "the full batch written")
        for _ in range(2):
            assert (await fetch(url)).status_code == 200
        assert await written() == 5
    finally:
        await candidate.client.aclose()
        await examiner.client.aclose()
        await running.stop()
    async with database(settings):
        assert await PictureAccess.filter(candidate_id=candidate.row.id).count() == 7


"""What a candidate and an examiner do in the tests, through the real API, and what must not change."""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from models import Attachment, MaterialCategory
from resolvers.admin import import_categories
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.factories import make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service

_seeds = itertools.cycle(range(1000, 1016))


@functools.cache
def cached_jpeg(seed: int) -> bytes:
    """Making a photo costs more than sending it; a few distinct ones, cycled, are enough."""
    return small_jpeg(seed)


async def stored_files(service: Service) -> dict[str, datetime]:
    """Every object in the service's store (local folder or S3): key -> modified time."""
    return {item.key: item.modified_at async for item in service.services.store.scan()}


async def candidate_files(service: Service, candidate_id: int) -> set[str]:
    return {
        key
        for key in await stored_files(service)
        if key.startswith((f"pictures/{candidate_id}/", f"thumbnails/{candidate_id}/"))
    }


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


async def upload(
    client: GraphQLClient,
    category_id: str | int,
    data: bytes | None = None,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> dict[str, Any]:
    """uploadAttachment's payload; a fresh small photo unless `data` is given."""
    content = data if data is not None else cached_jpeg(next(_seeds))
    result = await client.upload(
        op.UPLOAD,
        {"categoryId": str(category_id)},
        {"file": FilePart(filename, content, content_type)},
    )
    return result.payload("uploadAttachment")


async def uploaded(
    client: GraphQLClient, category_id: str | int, data: bytes | None = None
) -> dict[str, Any]:
    payload = await upload(client, category_id, data)
    assert payload["errors"] == [], payload["errors"]
    return payload["attachment"]


async def me(client: GraphQLClient) -> dict[str, Any]:
    result = await client.execute(op.ME)
    assert not result.errors, result.errors
    assert result.data is not None
    return result.data["me"]


def materials_by_code(candidate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["category"]["code"]: m for m in candidate["materials"]}


async def fill_required(client: GraphQLClient) -> None:
    """Upload enough pictures into every required category for submit to succeed."""
    for material in (await me(client))["materials"]:
        if material["required"]:
            need = max(material["category"]["minCount"], 1) - len(material["attachments"])
            for _ in range(need):
                await uploaded(client, material["category"]["id"])


async def submit(client: GraphQLClient) -> dict[str, Any]:
    payload = (await client.execute(op.SUBMIT)).payload("submitForReview")
    assert payload["errors"] == [], payload["errors"]
    return payload["candidate"]


async def examiner_of(
    service: Service, region: str = "山东省", site: str = "济南"
) -> GraphQLClient:
    staff = await make_staff(service, region=region, site=site)
    return await signed_in(service, staff.username)


async def return_candidate(
    examiner: GraphQLClient, candidate_id: int, category_ids: list[str] | None
) -> dict[str, Any]:
    payload = (
        await examiner.execute(
            op.RETURN,
            {"id": str(candidate_id), "message": "请重新上传。", "categoryIds": category_ids},
        )
    ).payload("returnForCorrection")
    assert payload["errors"] == [], payload["errors"]
    return payload["candidate"]


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.get(url)


async def make_category(
    service: Service, folder: Path, region: str, required: bool = False, **entry: Any
) -> MaterialCategory:
    """A new category whose only rule is for `region` (a unique one, so other tests never see it)."""
    code = unique("CAT")
    data = {
        "categories": [{"code": code, "name": f"测试材料{code}", **entry}],
        "requirements": [{"category": code, "required": required, "region": region}],
    }
    with service.db():
        await import_categories(json.loads(json.dumps(data)), folder, service.services.store)
        return await MaterialCategory.get(code=code)


async def attachment_ids(service: Service, candidate_id: int) -> set[str]:
    with service.db():
        return {
            str(pk)
            for pk in await Attachment.filter(candidate_id=candidate_id).values_list(
                "id", flat=True
            )
        }


class Evidence:
    """What must not change when an upload is refused."""

    def __init__(self, service: Service, candidate_id: int) -> None:
        self.service = service
        self.candidate_id = candidate_id

    async def take(self, earlier: list[dict[str, Any]]) -> Evidence:
        self.earlier = earlier
        self.files = await stored_files(self.service)
        self.rows = await attachment_ids(self.service, self.candidate_id)
        with self.service.db():
            self.total_rows = await Attachment.all().count()
        return self

    async def unchanged(self) -> None:
        assert await stored_files(self.service) == self.files
        assert await attachment_ids(self.service, self.candidate_id) == self.rows
        with self.service.db():
            assert await Attachment.all().count() == self.total_rows
        for picture in self.earlier:
            response = await fetch(picture["url"])
            assert response.status_code == 200
            assert hashlib.sha256(response.content).hexdigest() == picture["sha256"]


async def refused(
    service: Service,
    client: GraphQLClient,
    candidate_id: int,
    category_id: str | int,
    data: bytes,
    expected: str,
    earlier: list[dict[str, Any]] | None = None,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> dict[str, Any]:
    """Upload, assert exactly one error with `expected` code, and that nothing was stored."""
    evidence = await Evidence(service, candidate_id).take(earlier or [])
    payload = await upload(client, category_id, data, filename, content_type)
    assert payload["attachment"] is None
    assert codes(payload) == [expected], payload["errors"]
    error = payload["errors"][0]
    assert error["message"] and not error["message"].isascii()  # Chinese, for people
    await evidence.unchanged()
    return error

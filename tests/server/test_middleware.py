"""server/middleware.py: the body cap and the CSRF rule, in front of any parsing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from models import Attachment, MaterialCategory
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate
from tests.helpers.client import FilePart
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as service_settings


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as client:
        yield client


def refusal(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code
    return str(body["errors"][0]["message"])


def upload_form(size: int) -> dict[str, Any]:
    """httpx's `data` and `files` for an upload of `size` bytes."""
    operations = {"query": op.UPLOAD, "variables": {"categoryId": "1", "file": None}}
    return {
        "data": {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        "files": {"0": ("photo.jpg", b"\xff\xd8" + b"x" * size, "image/jpeg")},
    }


@pytest.mark.parametrize("size", [30_000, 2_000_000], ids=["small", "over-the-cap"])
async def test_multipart_without_authorization_is_refused(http: httpx.AsyncClient, size: int) -> None:
    # The refusal is readable: the guard drops the unread body instead of resetting the socket.
    response = await http.post("/graphql", **upload_form(size))
    message = refusal(response, 403, "CSRF_REFUSED")
    assert "Authorization" in message


async def test_multipart_refusal_comes_before_parsing(http: httpx.AsyncClient) -> None:
    # Not even a valid multipart body: a parser would answer 400, the guard answers first.
    response = await http.post(
        "/graphql",
        content=b"--nope\r\nthis is not a form",
        headers={"Content-Type": "multipart/form-data; boundary=----x"},
    )
    refusal(response, 403, "CSRF_REFUSED")
    # The same garbage with the header reaches the parser, which refuses it as bad input.
    parsed = await http.post(
        "/graphql",
        content=b"--nope\r\nthis is not a form",
        headers={"Content-Type": "multipart/form-data; boundary=----x", "Authorization": "Bearer x"},
    )
    assert 400 <= parsed.status_code < 500 and parsed.status_code != 403


async def test_multipart_with_an_empty_authorization_header_is_refused(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post(
        "/graphql", headers={"Authorization": ""}, **upload_form(1000)
    )
    refusal(response, 403, "CSRF_REFUSED")


async def test_multipart_with_a_bad_token_is_parsed_and_unauthenticated(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    client = service.client("v1.not.a.token")
    result = await client.upload(
        op.UPLOAD,
        {"categoryId": str(categories["ID"].id)},
        {"file": FilePart("p.jpg", small_jpeg(1), "image/jpeg")},
    )
    assert result.status_code == 200 and result.error_codes == ["UNAUTHENTICATED"]
    await client.aclose()


async def test_body_over_the_cap_with_content_length_is_413(
    service: Service, http: httpx.AsyncClient
) -> None:
    cap = service.settings.max_body_bytes
    body = b'{"query": "{ __typename }", "pad": "' + b"x" * cap + b'"}'
    response = await http.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    message = refusal(response, 413, "BODY_TOO_LARGE")
    assert f"{cap // 1024} KB" in message


async def test_body_just_under_the_cap_is_served(service: Service, http: httpx.AsyncClient) -> None:
    cap = service.settings.max_body_bytes
    head, tail = b'{"query": "{ __typename }", "pad": "', b'"}'
    body = head + b"x" * (cap - len(head) - len(tail)) + tail
    assert len(body) == cap
    response = await http.post("/graphql", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["data"] == {"__typename": "Query"}


async def _chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(size, total - sent)
        sent += piece
        yield b" " * piece


async def test_chunked_body_over_the_cap_is_413(service: Service, http: httpx.AsyncClient) -> None:
    total = 2 * service.settings.max_body_bytes
    request = http.build_request(
        "POST", "/graphql", content=_chunks(total), headers={"Content-Type": "application/json"}
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await http.send(request)
    refusal(response, 413, "BODY_TOO_LARGE")


async def test_chunked_multipart_upload_over_the_cap_stores_nothing(
    service: Service, candidate_client: SignedInCandidate, categories: dict[str, MaterialCategory]
) -> None:
    """A signed-in upload over the cap: refused while streaming, before the resolver runs."""
    boundary = "----capboundary"
    operations = json.dumps(
        {"query": op.UPLOAD, "variables": {"categoryId": str(categories["ID"].id), "file": None}}
    )
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n{operations}\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n"
        '{"0": ["variables.file"]}\r\n'
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"big.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    picture = small_jpeg(3)

    async def body() -> AsyncIterator[bytes]:
        yield head
        yield picture
        async for chunk in _chunks(service.settings.max_body_bytes):
            yield chunk
        yield f"\r\n--{boundary}--\r\n".encode()

    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        response = await http.post(
            "/graphql",
            content=body(),
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Authorization": f"Bearer {candidate_client.client.token}",
            },
        )
    refusal(response, 413, "BODY_TOO_LARGE")
    with service.db():
        assert not await Attachment.exists(candidate_id=candidate_client.row.id)


@pytest.mark.parametrize("length", ["abc", "-1", "1e9"])
async def test_unreadable_content_length_is_refused(service: Service, length: str) -> None:
    status = await _raw_status(
        service,
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n".encode(),
    )
    assert 400 <= status < 500


async def test_json_batch_is_refused(http: httpx.AsyncClient) -> None:
    batch = [{"query": "{ __typename }"}, {"query": "{ __typename }"}]
    response = await http.post("/graphql", json=batch)
    assert 400 <= response.status_code < 500
    assert "data" not in response.text or response.json().get("data") is None


async def test_get_and_small_posts_pass_through(http: httpx.AsyncClient) -> None:
    response = await http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}
    health = await http.get("/healthz")
    assert health.status_code == 200


async def _raw_status(service: Service, request: bytes, then_wait: float = 10) -> int:
    """Send raw bytes and return the response's status code (bounded wait)."""
    host, port = service.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), then_wait)
        return int(status_line.split()[1])
    finally:
        writer.close()


async def test_a_body_that_trickles_too_slowly_is_cut_off(tmp_path: Path) -> None:
    """A client that stops sending mid-body is answered within the read timeout, not held open."""
    own = await start_service(service_settings(tmp_path, body_read_timeout_seconds=1))
    try:
        status = await _raw_status(
            own,
            b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"query": "',
            then_wait=20,
        )
        assert status == 408
    finally:
        await own.stop()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("Content-Type: application/json\r\nContent-Length: 5000000\r\n", 413),
        ("Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000\r\n", 403),
    ],
    ids=["too-large", "csrf"],
)
async def test_a_client_waiting_for_100_continue_gets_the_refusal_at_once(
    service: Service, headers: str, status: int
) -> None:
    # No body is ever sent: the refusal must come without asking for it (no "100 Continue").
    request = f"POST /graphql HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n{headers}\r\n".encode()
    assert await _raw_status(service, request) == status

"""Hostile protocol input: every malformed request is answered with a 4xx or a typed error.

Never a 500 and never a hang: every client call here has a timeout, and after each
attack the service still answers an ordinary query.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from models import MaterialCategory
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, SignedInStaff
from tests.helpers.client import GRAPHQL_TRANSPORT_WS
from tests.helpers.pictures import small_jpeg
from tests.helpers.raw import (
    TIMEOUT,
    field_part,
    file_part,
    multipart,
    post_raw,
    raw_exchange,
    status_of,
)
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as settings_for
from tests.helpers.waiting import subscribed

UPLOAD_OPERATIONS = {"query": op.UPLOAD, "variables": {"categoryId": "1", "file": None}}
GOOD_MAP = {"0": ["variables.file"]}
PICTURE = small_jpeg(11)


async def still_serving(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=TIMEOUT) as http:
        health = await http.get("/healthz")
        answer = await http.post("/graphql", json={"query": "{ __typename }"})
    assert health.status_code == 200
    assert answer.json() == {"data": {"__typename": "Query"}}


def typed_or_4xx(response: httpx.Response) -> None:
    """A 4xx, or a 200 whose errors carry a code; never a 5xx."""
    assert response.status_code < 500, response.text[:500]
    if response.status_code >= 400:
        return
    body = response.json()
    if not body.get("errors"):
        # No operation error: then every payload carries its typed errors.
        payloads = list((body.get("data") or {}).values())
        assert payloads and all(p and p["errors"] for p in payloads), body
        return
    for error in body["errors"]:
        assert "服务器内部错误" not in error.get("message", ""), error


# --- multipart ----------------------------------------------------------------------------


def _operations_for(category: str) -> dict[str, Any]:
    return {"query": op.UPLOAD, "variables": {"categoryId": category, "file": None}}


BROKEN_MULTIPART: dict[str, Callable[[str], tuple[bytes, str]]] = {
    "no map": lambda c: multipart(
        [field_part("operations", _operations_for(c)), file_part("0", "a.jpg", PICTURE)]
    ),
    "no operations": lambda c: multipart(
        [field_part("map", GOOD_MAP), file_part("0", "a.jpg", PICTURE)]
    ),
    "map names a missing part": lambda c: multipart(
        [
            field_part("operations", _operations_for(c)),
            field_part("map", {"7": ["variables.file"]}),
            file_part("0", "a.jpg", PICTURE),
        ]
    ),
    "map points outside variables": lambda c: multipart(
        [
            field_part("operations", _operations_for(c)),
            field_part("map", {"0": ["variables.nothing.deeper.still"]}),
            file_part("0", "a.jpg", PICTURE),
        ]
    ),
    "map is not an object": lambda c: multipart(
        [
            field_part("operations", _operations_for(c)),
            field_part("map", ["variables.file"]),
            file_part("0", "a.jpg", PICTURE),
        ]
    ),
    "map is not JSON": lambda c: multipart(
        [
            field_part("operations", _operations_for(c)),
            field_part("map", "{not json"),
            file_part("0", "a.jpg", PICTURE),
        ]
    ),
    "operations is not JSON": lambda c: multipart(
        [
            field_part("operations", "{nope"),
            field_part("map", GOOD_MAP),
            file_part("0", "a.jpg", PICTURE),
        ]
    ),
    "file sent as a plain field": lambda c: multipart(
        [
            field_part("operations", _operations_for(c)),
            field_part("map", GOOD_MAP),
            field_part("0", "just text"),
        ]
    ),
    "thousands of fields": lambda c: multipart(
        [field_part("operations", _operations_for(c)), field_part("map", GOOD_MAP)]
        + [field_part(f"f{i}", "x") for i in range(5000)]
        + [file_part("0", "a.jpg", PICTURE)]
    ),
    "thousands of files": lambda c: multipart(
        [field_part("operations", _operations_for(c)), field_part("map", GOOD_MAP)]
        + [file_part(str(i), f"{i}.jpg", b"x") for i in range(3000)]
    ),
    "a part with no name": lambda c: multipart(
        [
            field_part("operations", _operations_for(c)),
            field_part("map", GOOD_MAP),
            (b'form-data; filename="a.jpg"', PICTURE),
        ]
    ),
    "a part with no disposition": lambda c: (
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n",
        "multipart/form-data; boundary=b",
    ),
    "no boundary": lambda c: (b"--b\r\n\r\n--b--\r\n", "multipart/form-data"),
    "never terminated": lambda c: (
        multipart([field_part("operations", _operations_for(c))])[0][:-8],
        "multipart/form-data; boundary=" + "x" * 10,
    ),
    "empty body": lambda c: (b"", "multipart/form-data; boundary=abc"),
}


@pytest.mark.parametrize("case", list(BROKEN_MULTIPART))
async def test_broken_multipart_is_refused_with_a_4xx_or_typed_error(
    service: Service,
    candidate_client: SignedInCandidate,
    categories: dict[str, MaterialCategory],
    case: str,
) -> None:
    body, content_type = BROKEN_MULTIPART[case](str(categories["EDU"].id))
    response = await post_raw(service, body, content_type, candidate_client.client.token)
    typed_or_4xx(response)
    await still_serving(service)


async def test_extra_parts_are_ignored_and_the_mapped_file_still_counts(
    service: Service, candidate_client: SignedInCandidate, categories: dict[str, MaterialCategory]
) -> None:
    body, content_type = multipart(
        [
            field_part("operations", _operations_for(str(categories["EDU"].id))),
            field_part("map", GOOD_MAP),
            file_part("0", "a.jpg", PICTURE),
            file_part("1", "evil.html", b"<script>alert(1)</script>"),
            field_part("2", "extra"),
        ]
    )
    response = await post_raw(service, body, content_type, candidate_client.client.token)
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["uploadAttachment"]
    assert payload["errors"] == []
    assert payload["attachment"]["sha256"] is not None
    assert payload["attachment"]["byteSize"] == len(PICTURE)


# --- bodies: cap and deadline --------------------------------------------------------------


async def test_a_body_over_the_cap_sent_chunked_without_length_is_cut_off(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        boundary = b"--x\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.jpg\"\r\n\r\n"
        yield boundary
        for _ in range(64):  # 4 MiB at most, four times the cap
            sent += 65536
            yield b"\xff" * 65536

    headers = {
        "Authorization": f"Bearer {candidate_client.client.token}",
        "Content-Type": "multipart/form-data; boundary=x",
    }
    async with httpx.AsyncClient(base_url=service.base_url, timeout=TIMEOUT) as http:
        try:
            response = await http.post("/graphql", content=endless(), headers=headers)
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            response = None
    # Either we read the 413 or the server hung up on us mid-body; never a 200 or a 5xx.
    if response is not None:
        assert response.status_code == 413, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"
    assert sent < 4 * 1024 * 1024 or response is not None
    await still_serving(service)


async def test_a_declared_length_over_the_cap_is_refused_before_reading(service: Service) -> None:
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99999999\r\n\r\n{"
    )
    raw = await raw_exchange(service, request)
    assert status_of(raw) == 413


async def test_a_body_that_lies_about_its_length_is_not_a_500(service: Service) -> None:
    request = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: abc\r\n\r\n{}"
    )
    raw = await raw_exchange(service, request)
    assert 400 <= status_of(raw) < 500


@pytest.fixture(scope="module")
async def impatient(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    """A service that gives a request body two seconds to arrive."""
    folder: Path = tmp_path_factory.mktemp("impatient")
    running = await start_service(settings_for(folder, body_read_timeout_seconds=2))
    yield running
    await running.stop()


async def test_a_slow_upload_trickling_bytes_is_cut_off_with_408(impatient: Service) -> None:
    host, port = impatient.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    started = time.monotonic()
    writer.write(
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 50000\r\n\r\n--b\r\n"
    )
    await writer.drain()

    async def trickle() -> None:
        for _ in range(300):  # at most 60 s, far past the deadline
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.2)  # paces the attack: one byte every 0.2 s

    sender = asyncio.create_task(trickle())
    try:
        raw = await asyncio.wait_for(reader.read(65536), 20)
    finally:
        sender.cancel()
        writer.close()
    elapsed = time.monotonic() - started
    assert status_of(raw) == 408, raw[:300]
    assert b"REQUEST_TIMEOUT" in raw
    assert elapsed < 15  # cut off by the deadline, not by the trickle running out
    await still_serving(impatient)


async def test_a_slow_but_complete_body_within_the_deadline_is_served(impatient: Service) -> None:
    body = json.dumps({"query": "{ __typename }"}).encode()
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
    )
    host, port = impatient.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head + body[:5])
    await writer.drain()
    await asyncio.sleep(0.5)  # the slow sender: a deliberate pause, well within the deadline
    writer.write(body[5:])
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(65536), 20)
    writer.close()
    assert status_of(raw) == 200 and b'"Query"' in raw


# --- JSON and GraphQL documents ------------------------------------------------------------


def _deep_introspection(levels: int) -> str:
    inner = "name"
    for _ in range(levels):
        inner = f"ofType {{ {inner} }}"
    return f"{{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"


def _fragment_bomb(levels: int) -> str:
    fragments = ["fragment F0 on Query { categories { id code name } }"]
    for i in range(1, levels + 1):
        fragments.append(f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}")
    return f"query {{ ...F{levels} }} " + " ".join(fragments)


def _wide_fragment_bomb(width: int) -> str:
    spreads = " ".join("...F" for _ in range(width))
    return f"query {{ {spreads} }} fragment F on Query {{ categories {{ id }} }}"


HOSTILE_JSON: dict[str, tuple[bytes, str]] = {
    "invalid JSON": (b'{"query": "{ __typename }"', "application/json"),
    "JSON that is a string": (b'"{ __typename }"', "application/json"),
    "JSON that is a number": (b"42", "application/json"),
    "JSON null": (b"null", "application/json"),
    "query is not a string": (b'{"query": {"a": 1}}', "application/json"),
    "variables is a list": (
        b'{"query": "query($a: String) { __typename }", "variables": [1, 2]}',
        "application/json",
    ),
    "no query at all": (b'{"variables": {}}', "application/json"),
    "batched operations": (
        json.dumps([{"query": "{ __typename }"}] * 50).encode(),
        "application/json",
    ),
    "deeply nested variables": (
        b'{"query": "query($x: String) { __typename }", "variables": {"x": '
        + b"[" * 100_000 + b"]" * 100_000 + b"}}",
        "application/json",
    ),
    "invalid UTF-8": (b'{"query": "{ __typename \xff\xfe }"}', "application/json"),
    "wrong content type": (b"{ __typename }", "text/plain"),
    "GraphQL syntax error": (json.dumps({"query": "{ me { "}).encode(), "application/json"),
    "unknown field": (json.dumps({"query": "{ nope }"}).encode(), "application/json"),
    "deep introspection": (json.dumps({"query": _deep_introspection(40)}).encode(), "application/json"),
    "alias bomb": (
        json.dumps({"query": "{ " + " ".join(f"a{i}: __typename" for i in range(5000)) + " }"}).encode(),
        "application/json",
    ),
    "token bomb": (
        json.dumps({"query": "{ " + "__typename " * 20_000 + "}"}).encode(),
        "application/json",
    ),
    "fragment bomb (doubling)": (
        json.dumps({"query": _fragment_bomb(40)}).encode(), "application/json"
    ),
    "fragment bomb (wide)": (
        json.dumps({"query": _wide_fragment_bomb(3000)}).encode(), "application/json"
    ),
    "fragment cycle": (
        json.dumps(
            {
                "query": "query { ...A } fragment A on Query { ...B } "
                "fragment B on Query { ...A }"
            }
        ).encode(),
        "application/json",
    ),
    "directive bomb": (
        json.dumps({"query": "{ __typename " + "@include(if: true) " * 3000 + "}"}).encode(),
        "application/json",
    ),
    "many operations, none named": (
        json.dumps({"query": " ".join("query { __typename }" for _ in range(500))}).encode(),
        "application/json",
    ),
    "oversized variable under the body cap": (
        json.dumps(
            {
                "query": op.UPDATE_PROFILE,
                "variables": {"phone": "13800138000", "address": "长" * 300_000},
            },
            ensure_ascii=False,
        ).encode(),
        "application/json",
    ),
    "many variables": (
        json.dumps(
            {"query": "{ __typename }", "variables": {f"v{i}": i for i in range(60_000)}}
        ).encode(),
        "application/json",
    ),
    "introspection of every type, aliased": (
        json.dumps(
            {"query": "{ " + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(200)) + " }"}
        ).encode(),
        "application/json",
    ),
}


ANSWERED = {"deep introspection", "many variables"}


@pytest.mark.parametrize("case", list(HOSTILE_JSON))
async def test_hostile_json_and_documents_get_a_4xx_or_typed_error(
    service: Service, candidate_client: SignedInCandidate, case: str
) -> None:
    body, content_type = HOSTILE_JSON[case]
    started = time.monotonic()
    response = await post_raw(service, body, content_type, candidate_client.client.token)
    assert time.monotonic() - started < 15
    if case == "oversized variable under the body cap":
        assert response.status_code == 200
        errors = response.json()["data"]["updateProfile"]["errors"]
        assert [e["code"] for e in errors] == ["INVALID_INPUT"]
    elif case in ANSWERED:
        # Harmless once bounded: introspection is a fixed size, unused variables are ignored.
        assert response.status_code == 200 and response.json()["data"], response.text[:300]
    else:
        typed_or_4xx(response)
    await still_serving(service)


async def test_real_fields_cannot_nest_past_the_depth_limit(
    service: Service, examiner_client: SignedInStaff
) -> None:
    """The object types have no cycles, so the deepest real document stays under the limit."""
    deepest = (
        "{ reviewQueue { edges { node { materials { attachments { category { id } } } } } } }"
    )
    result = await examiner_client.client.execute(deepest)
    assert result.errors == [] and result.data is not None
    assert service.settings.max_query_depth >= 7


async def test_a_mutation_over_get_is_refused(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=TIMEOUT) as http:
        response = await http.get("/graphql", params={"query": "mutation { logout }"})
        long = await http.get("/graphql", params={"query": "{ " + "__typename " * 3000 + "}"})
    assert 400 <= response.status_code < 500
    assert long.status_code < 500


# --- WebSocket -----------------------------------------------------------------------------


def ws_url(service: Service) -> str:
    return "ws" + service.base_url.removeprefix("http") + "/graphql"


async def close_code(socket: Any, within: float = 10) -> int | None:
    """Read until the server closes the socket; its close code."""
    try:
        async with asyncio.timeout(within):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None
    return None


async def test_ws_subscribe_before_connection_init_is_closed_4401(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    async with websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": op.REVIEW_EVENTS}}))
        assert await close_code(ws) == 4401


async def test_ws_a_second_init_is_closed_4429(service: Service, candidate_client: SignedInCandidate) -> None:
    async with websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {candidate_client.client.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(json.dumps(init))
        assert await close_code(ws) == 4429


async def test_ws_init_without_a_valid_token_is_refused(service: Service) -> None:
    for payload in ({}, {"Authorization": "Bearer v1.x.1.y"}, {"Authorization": 42}, None):
        async with websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
            assert await close_code(ws) in (4400, 4403)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "unknown"},
        {"type": "start", "id": "1", "payload": {"query": "subscription { reviewEvents { status } }"}},
        {"nope": 1},
        "not json at all",
        [1, 2, 3],
        {"type": "subscribe"},
        {"type": "subscribe", "id": "1", "payload": "x"},
    ],
    ids=["unknown type", "legacy start", "no type", "not JSON", "a list", "no id", "bad payload"],
)
async def test_ws_unknown_or_malformed_messages_close_4400(
    service: Service, candidate_client: SignedInCandidate, message: Any
) -> None:
    async with websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {candidate_client.client.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        await ws.send(message if isinstance(message, str) else json.dumps(message))
        assert await close_code(ws) == 4400
    await still_serving(service)


async def test_ws_a_huge_frame_is_refused_and_the_server_lives(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    async with websockets.connect(
        ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS], max_size=None
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {candidate_client.client.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        # Over the frame cap (the body cap, 1 MiB): closed with 1009 (message too big).
        with contextlib.suppress(ConnectionClosed):
            await ws.send("x" * (service.settings.max_body_bytes + 1024 * 1024))
        assert await close_code(ws, within=20) == 1009
    async with websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {candidate_client.client.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        # A 700 KB subscription document under the frame cap hits the token limit instead.
        huge = "subscription { reviewEvents { " + "status " * 100_000 + "} }"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": huge}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert answer["type"] == "error" and answer["id"] == "1"
        # So does a plain syntax error; the socket stays open for good documents.
        await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": {"query": "subscription {"}}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 20))
        assert answer["type"] == "error" and answer["id"] == "2"
        await ws.send(json.dumps({"id": "3", "type": "subscribe", "payload": {"query": op.REVIEW_EVENTS}}))
        assert await close_code(ws, within=1) is None  # still open
        # Documents that parsed are remembered (server/app.py); refusals never are.
        for n, query in ((4, "subscription {"), (5, huge)):
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": {"query": query}}))
            answer = json.loads(await asyncio.wait_for(ws.recv(), 20))
            assert answer["type"] == "error" and answer["id"] == str(n)
    await still_serving(service)


async def test_ws_hundreds_of_subscriptions_on_one_socket_are_capped_and_released(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    candidate_id = candidate_client.row.id
    topic = f"candidate:{candidate_id}"
    broker = service.services.broker
    async with websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {candidate_client.client.token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
        for i in range(300):
            await ws.send(
                json.dumps({"id": str(i), "type": "subscribe", "payload": {"query": op.REVIEW_EVENTS}})
            )
        refused = 0
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "error":
                        assert "limit" in json.dumps(message["payload"]).lower()
                        refused += 1
        accepted = 300 - refused
        assert 1 <= accepted <= 100
        assert broker.subscriber_count(topic) == accepted
        # The socket still works for the subscriptions it holds: one event reaches each.
        result = await candidate_client.client.execute(op.MARK_READ)
        assert result.status_code == 200
        await still_serving(service)
    # Closing the socket releases every broker subscription it held.
    await subscribed(service, topic, 0)

"""resolvers/messages.py, the live feeds: reviewEvents and queueEvents over real WebSockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import websockets
from websockets.typing import Subprotocol

from core.security import read_token
from models import Candidate, MaterialCategory, ReviewMessage, Session
from models.enums import MessageKind
from resolvers.events import candidate_topic, queue_topic
from resolvers.messages import post_message
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, SignedInStaff, signed_in
from tests.helpers.client import GRAPHQL_TRANSPORT_WS, FilePart, GraphQLClient
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service
from tests.helpers.waiting import subscribed


def ws_url(service: Service) -> str:
    return "ws" + service.base_url.removeprefix("http") + "/graphql"


@dataclass
class Site:
    service: Service
    categories: dict[str, MaterialCategory]
    region: str
    site: str
    examiner: GraphQLClient
    examiner_name: str

    async def candidate(self, materials: bool = False) -> SignedInCandidate:
        row = await make_candidate(self.service, region=self.region, site=self.site)
        client = await signed_in(self.service, row.username)
        if materials:
            for code, seed in (("ID", 1), ("ID", 2), ("EDU", 3), ("PROBATION", 4)):
                result = await client.upload(
                    op.UPLOAD,
                    {"categoryId": str(self.categories[code].id)},
                    {"file": FilePart("p.jpg", small_jpeg(seed), "image/jpeg")},
                )
                assert result.payload("uploadAttachment")["errors"] == []
        return SignedInCandidate(client, row)


async def open_site(service: Service, categories: dict[str, MaterialCategory], region: str) -> Site:
    site = unique("考点")
    staff = await make_staff(service, region=region, site=site)
    examiner = await signed_in(service, staff.username)
    return Site(service, categories, region, site, examiner, staff.name)


@pytest.fixture
async def region(service: Service, categories: dict[str, MaterialCategory]) -> AsyncIterator[str]:
    yield unique("直播区")


async def feedback(examiner: GraphQLClient, candidate: SignedInCandidate, body: str) -> None:
    sent = await examiner.execute(op.FEEDBACK, {"id": candidate.id, "body": body})
    assert sent.payload("sendFeedback")["errors"] == []


async def test_candidate_receives_return_feedback_and_decision(
    service: Service, categories: dict[str, MaterialCategory], region: str
) -> None:
    desk = await open_site(service, categories, region)
    candidate = await desk.candidate(materials=True)
    async with candidate.client.subscribe(op.REVIEW_EVENTS) as events:
        await subscribed(service, candidate_topic(candidate.row.id))
        assert (await candidate.client.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []
        submitted = (await events.next())["data"]["reviewEvents"]
        assert submitted["status"] == "SUBMITTED" and submitted["locked"] is True
        assert submitted["message"]["kind"] == "SYSTEM"
        assert submitted["message"]["body"].endswith("上报完成，内容已锁定。")
        assert submitted["message"]["authorName"] == "系统"

        body = "身份证反面模糊，请重新上传。"
        returned = await desk.examiner.execute(op.RETURN, {"id": candidate.id, "message": body})
        assert returned.payload("returnForCorrection")["errors"] == []
        event = (await events.next())["data"]["reviewEvents"]
        assert event["status"] == "RETURNED" and event["locked"] is False
        assert event["message"]["kind"] == "RETURNED" and event["message"]["body"] == body
        assert event["message"]["authorName"] == desk.examiner_name
        me = (await candidate.client.execute(op.ME)).payload("me")
        assert event["message"]["id"] == me["messages"][0]["id"]

        await feedback(desk.examiner, candidate, "请在 24 小时内处理。")
        event = (await events.next())["data"]["reviewEvents"]
        assert event["message"]["kind"] == "FEEDBACK"
        assert event["message"]["body"] == "请在 24 小时内处理。"
        assert event["status"] == "RETURNED" and event["locked"] is False

        assert (await candidate.client.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []
        assert (await events.next())["data"]["reviewEvents"]["status"] == "SUBMITTED"
        approved = await desk.examiner.execute(op.APPROVE, {"id": candidate.id})
        assert approved.payload("approveCandidate")["errors"] == []
        event = (await events.next())["data"]["reviewEvents"]
        assert event["status"] == "APPROVED" and event["locked"] is True
        assert event["message"]["kind"] == "APPROVED"
    await candidate.client.aclose()
    await desk.examiner.aclose()


async def test_another_candidate_receives_nothing(
    service: Service, categories: dict[str, MaterialCategory], region: str
) -> None:
    desk = await open_site(service, categories, region)
    first, second = await desk.candidate(), await desk.candidate()
    async with first.client.subscribe(op.REVIEW_EVENTS) as mine, second.client.subscribe(op.REVIEW_EVENTS) as theirs:
        await subscribed(service, candidate_topic(first.row.id))
        await subscribed(service, candidate_topic(second.row.id))
        for n in range(3):
            await feedback(desk.examiner, first, f"只给第一位考生 {n}")
        await feedback(desk.examiner, second, "给第二位考生")
        # The second socket's first event is its own, although three others came before it.
        event = (await theirs.next())["data"]["reviewEvents"]
        assert event["message"]["body"] == "给第二位考生"
        bodies = [(await mine.next())["data"]["reviewEvents"]["message"]["body"] for _ in range(3)]
        assert bodies == [f"只给第一位考生 {n}" for n in range(3)]
        assert await theirs.nothing_within(0.3)
    for client in (first.client, second.client, desk.examiner):
        await client.aclose()


async def test_examiner_queue_events_on_submit_and_decision(
    service: Service, categories: dict[str, MaterialCategory], region: str
) -> None:
    desk = await open_site(service, categories, region)
    candidate = await desk.candidate(materials=True)
    async with desk.examiner.subscribe(op.QUEUE_EVENTS) as events:
        await subscribed(service, queue_topic(region))
        before = datetime.now(UTC)
        assert (await candidate.client.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []
        entered = (await events.next())["data"]["queueEvents"]
        assert entered["status"] == "SUBMITTED"
        assert entered["candidate"] == {
            "id": candidate.id, "name": candidate.row.name, "site": desk.site,
        }
        at = datetime.fromisoformat(entered["at"])
        assert before - timedelta(seconds=1) <= at <= datetime.now(UTC) + timedelta(seconds=1)

        returned = await desk.examiner.execute(op.RETURN, {"id": candidate.id, "message": "请补充。"})
        assert returned.payload("returnForCorrection")["errors"] == []
        left = (await events.next())["data"]["queueEvents"]
        assert left["status"] == "RETURNED" and left["candidate"]["id"] == candidate.id

        assert (await candidate.client.execute(op.SUBMIT)).payload("submitForReview")["errors"] == []
        assert (await events.next())["data"]["queueEvents"]["status"] == "SUBMITTED"
        rejected = await desk.examiner.execute(op.REJECT, {"id": candidate.id, "reason": "不符合。"})
        assert rejected.payload("rejectCandidate")["errors"] == []
        assert (await events.next())["data"]["queueEvents"]["status"] == "REJECTED"
    await candidate.client.aclose()
    await desk.examiner.aclose()


async def test_examiner_of_another_site_or_region_receives_nothing(
    service: Service, categories: dict[str, MaterialCategory], region: str
) -> None:
    here = await open_site(service, categories, region)
    there = await open_site(service, categories, region)
    far = await open_site(service, categories, unique("远方区"))
    mine, theirs, distant = await here.candidate(), await there.candidate(), await far.candidate()
    async with there.examiner.subscribe(op.QUEUE_EVENTS) as events, far.examiner.subscribe(
        op.QUEUE_EVENTS
    ) as far_events:
        await subscribed(service, queue_topic(region))
        await subscribed(service, queue_topic(far.region))
        # Someone at `here` leaves the queue: neither `there` nor `far` may hear of it.
        for signed in (mine, theirs, distant):
            with service.db():
                await Candidate.filter(id=signed.row.id).update(status="SUBMITTED")
        for signed, desk in ((mine, here), (theirs, there), (distant, far)):
            result = await desk.examiner.execute(op.APPROVE, {"id": signed.id})
            assert result.payload("approveCandidate")["errors"] == []
        assert (await events.next())["data"]["queueEvents"]["candidate"]["id"] == theirs.id
        assert (await far_events.next())["data"]["queueEvents"]["candidate"]["id"] == distant.id
        assert await events.nothing_within(0.3)
    for client in (mine.client, theirs.client, distant.client, here.examiner, there.examiner, far.examiner):
        await client.aclose()


async def _connection_init(service: Service, payload: Any) -> websockets.ClientConnection:
    socket = await websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS])
    message: dict[str, Any] = {"type": "connection_init"}
    if payload is not ...:
        message["payload"] = payload
    await socket.send(json.dumps(message))
    return socket


async def closed_with(socket: websockets.ClientConnection) -> int | None:
    try:
        for _ in range(5):  # a ping or two may come first; never an ack
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert message["type"] in ("ping", "pong"), message
    except websockets.ConnectionClosed:
        return socket.close_code
    finally:
        await socket.close()
    return None


async def _revoked_token(service: Service) -> str:
    row = await make_candidate(service)
    client = await signed_in(service, row.username)
    token = client.token or ""
    claims = read_token(service.settings.secret_key, token)
    assert claims is not None
    with service.db():
        await Session.filter(id=claims.session_id).update(revoked_at=datetime.now(UTC))
    await client.aclose()
    return token


@pytest.mark.parametrize(
    "payload",
    [
        ...,
        None,
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer v1.forged.9999999999.signature"},
        {"Authorization": 42},
        {"Authorization": "revoked"},
        {"Authorization": "tampered"},
    ],
    ids=["no-payload", "null", "empty", "blank", "bearer-only", "forged", "not-a-string", "revoked", "tampered"],
)
async def test_bad_or_missing_token_closes_with_4403(service: Service, payload: Any) -> None:
    if isinstance(payload, dict) and payload.get("Authorization") == "revoked":
        payload = {"Authorization": f"Bearer {await _revoked_token(service)}"}
    elif isinstance(payload, dict) and payload.get("Authorization") == "tampered":
        row = await make_candidate(service)
        client = await signed_in(service, row.username)
        token = client.token or ""
        await client.aclose()
        payload = {"Authorization": f"Bearer {token[:-2]}{'AA' if token[-2:] != 'AA' else 'BB'}"}
    socket = await _connection_init(service, payload)
    code = await closed_with(socket)
    if payload is None:
        # Strawberry refuses a null payload as malformed (4400) before any token check.
        assert code in (4400, 4403)
    else:
        assert code == 4403


async def test_subscribe_before_connection_init_is_refused(service: Service) -> None:
    async with websockets.connect(ws_url(service), subprotocols=[GRAPHQL_TRANSPORT_WS]) as socket:
        await socket.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": op.REVIEW_EVENTS}})
        )
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(5):
                message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                assert message["type"] in ("ping", "pong"), message
        # graphql-transport-ws: 4401 Unauthorized when subscribing before the ack.
        assert socket.close_code == 4401


@pytest.mark.parametrize(
    "subprotocols", [[Subprotocol("graphql-ws")], []], ids=["legacy-graphql-ws", "none"]
)
async def test_only_graphql_transport_ws_is_served(
    service: Service, candidate_client: SignedInCandidate, subprotocols: list[Subprotocol]
) -> None:
    try:
        socket = await websockets.connect(ws_url(service), subprotocols=subprotocols or None)
    except websockets.InvalidStatus:
        return  # refused at the handshake: just as good
    async with socket:
        assert socket.subprotocol is None  # the legacy protocol was not selected
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {candidate_client.client.token}"}}
        with pytest.raises(websockets.ConnectionClosed):
            # The server closes at once; sending may already fail, receiving surely does.
            await socket.send(json.dumps(init))
            await asyncio.wait_for(socket.recv(), 10)
        assert socket.close_code == 4406


@pytest.mark.parametrize(
    ("who", "query", "field"),
    [("candidate", op.QUEUE_EVENTS, "queueEvents"), ("examiner", op.REVIEW_EVENTS, "reviewEvents")],
)
async def test_wrong_role_gets_an_error_message(
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
    who: str,
    query: str,
    field: str,
) -> None:
    client = candidate_client.client if who == "candidate" else examiner_client.client
    async with client.subscribe(query) as subscription:
        message = json.loads(await asyncio.wait_for(subscription.socket.recv(), 10))
        assert message["type"] == "error" and message["id"] == subscription.id
        [error] = message["payload"]
        assert error["extensions"]["code"] == "FORBIDDEN"
        assert error["path"] == [field]
        # The socket stays usable for allowed operations.
        await subscription.socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(subscription.socket.recv(), 10))["type"] == "pong"


async def test_completing_or_closing_releases_the_broker_subscription(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    topic = candidate_topic(candidate_client.row.id)
    async with candidate_client.client.subscribe(op.REVIEW_EVENTS) as subscription:
        await subscribed(service, topic, 1)
        await subscription.socket.send(json.dumps({"id": subscription.id, "type": "complete"}))
        await subscribed(service, topic, 0)
        async with candidate_client.client.subscribe(op.REVIEW_EVENTS):
            await subscribed(service, topic, 1)
    # Leaving the context closed the sockets.
    await subscribed(service, topic, 0)


async def test_events_published_out_of_order_lose_nothing(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    """Two workers may publish two committed messages in the opposite order; both arrive, in order."""
    row = candidate_client.row
    async with candidate_client.client.subscribe(op.REVIEW_EVENTS) as events:
        await subscribed(service, f"candidate:{row.id}")
        with service.db():
            first = (await post_message(row, MessageKind.FEEDBACK, "第一条")).message
            second = (await post_message(row, MessageKind.FEEDBACK, "第二条")).message
        broker = service.services.broker
        for message in (second, first):  # the later one's event arrives first
            await broker.publish(
                f"candidate:{row.id}",
                {"message_id": message.id, "candidate_id": row.id, "status": "DRAFT"},
            )
        received = [(await events.next())["data"]["reviewEvents"]["message"] for _ in range(2)]
        assert [m["body"] for m in received] == ["第一条", "第二条"]
        assert await events.nothing_within(0.5)  # the late event for the first one adds nothing


async def test_a_missed_event_is_caught_up_from_the_next_one(
    service: Service, categories: dict[str, MaterialCategory], region: str
) -> None:
    """An event carries the id of the message before it: a subscriber that missed one (lost
    between workers, or published while it was subscribing) re-reads instead of skipping it."""
    desk = await open_site(service, categories, region)
    candidate = await desk.candidate()
    async with candidate.client.subscribe(op.REVIEW_EVENTS) as events:
        await subscribed(service, candidate_topic(candidate.row.id))
        await feedback(desk.examiner, candidate, "第一条")
        assert (await events.next())["data"]["reviewEvents"]["message"]["body"] == "第一条"
        # Written and committed, but its event never reaches this process's subscribers.
        with service.db():
            row = await Candidate.get(id=candidate.row.id)
            missed = (await post_message(row, MessageKind.FEEDBACK, "没有推送的一条")).message
        await feedback(desk.examiner, candidate, "第三条")
        first = (await events.next())["data"]["reviewEvents"]["message"]
        second = (await events.next())["data"]["reviewEvents"]["message"]
        assert (first["id"], first["body"]) == (str(missed.id), "没有推送的一条")
        assert second["body"] == "第三条"
        assert await events.nothing_within(0.3)
    await candidate.client.aclose()
    await desk.examiner.aclose()


async def test_events_published_while_pages_subscribe_are_not_lost(
    service: Service, categories: dict[str, MaterialCategory], region: str
) -> None:
    """Pages open while their examiner writes: whatever each page receives is every message
    after its first one, in order, once, up to the last one written (no gap, no repeat)."""
    desk = await open_site(service, categories, region)
    candidates = [await desk.candidate() for _ in range(6)]
    received: dict[int, list[str]] = {c.row.id: [] for c in candidates}

    async def page(candidate: SignedInCandidate, opened: asyncio.Event) -> None:
        async with candidate.client.subscribe(op.REVIEW_EVENTS) as events:
            opened.set()
            while True:
                message = (await events.next(within=20))["data"]["reviewEvents"]["message"]
                received[candidate.row.id].append(message["id"])
                if message["body"] == "最后一条":
                    return

    async def examiner(candidate: SignedInCandidate) -> None:
        for n in range(4):
            await feedback(desk.examiner, candidate, f"打开页面时的第 {n} 条")

    opened = [asyncio.Event() for _ in candidates]
    pages = [asyncio.create_task(page(c, e)) for c, e in zip(candidates, opened, strict=True)]
    # The examiner writes while the pages connect, sign in and subscribe.
    await asyncio.gather(*(examiner(c) for c in candidates))
    for candidate, event in zip(candidates, opened, strict=True):
        await event.wait()
        await subscribed(service, candidate_topic(candidate.row.id))
    for candidate in candidates:
        await feedback(desk.examiner, candidate, "最后一条")
    await asyncio.wait_for(asyncio.gather(*pages), 30)
    for candidate in candidates:
        with service.db():
            rows = await ReviewMessage.filter(candidate_id=candidate.row.id).order_by("id")
        ids = [str(row.id) for row in rows]
        got = received[candidate.row.id]
        assert got == ids[len(ids) - len(got):], (got, ids)
    for c in candidates:
        await c.client.aclose()
    await desk.examiner.aclose()

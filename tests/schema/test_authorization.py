"""Who may call what: every contract operation × every kind of caller.

Expected outcomes (DESIGN "Decisions on details"):
- UNAUTHENTICATED: no token (anonymous) on anything but `login`.
- FORBIDDEN: a role calling what its role may not (GraphQL error).
- NULL / NOT_FOUND: a record outside the caller's scope looks absent (null from a query,
  NOT_FOUND in a mutation's payload).
- OK: allowed, and the effect is checked (on the caller's own record, never on another's).

The callers: anonymous, candidates A and B (same site, so only ownership separates them),
an examiner of A's site, an examiner of another site of the same region, and the
region's admin. Sessions are minted the way `login` makes them (argon2 costs 0.2 s a
check; sign-in itself is tested in tests/resolvers/test_auth.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
import websockets

from core.security import new_session_id, sign_token
from models import Attachment, Candidate, MaterialCategory, ReviewMessage, Session, StaffUser
from models.enums import MessageKind, ReviewStatus, Role
from resolvers.events import candidate_topic, queue_topic
from tests.helpers import operations as op
from tests.helpers.client import GRAPHQL_TRANSPORT_WS, FilePart, GraphQLClient, Result
from tests.helpers.factories import PASSWORD, make_candidate, make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service
from tests.helpers.waiting import subscribed

ACTORS = ["anonymous", "candidate_a", "candidate_b", "examiner_a", "examiner_other", "admin"]

OK, NULL, EMPTY = "OK", "NULL", "EMPTY"
UNAUTH, FORBIDDEN, NOT_FOUND = "UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"
CLOSED_4403 = "CLOSED 4403"
CSRF_403 = "HTTP 403 CSRF_REFUSED"

# operation → expected outcome per actor, in ACTORS order.
MATRIX: dict[str, tuple[str, str, str, str, str, str]] = {
    # queries
    "me": (UNAUTH, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "candidate": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NULL, OK),
    "candidateByAdmissionNo": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NULL, OK),
    "reviewQueue": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, EMPTY, OK),
    "categories": (UNAUTH, OK, OK, OK, OK, OK),
    # mutations
    "login": (OK, OK, OK, OK, OK, OK),
    "logout": (UNAUTH, OK, OK, OK, OK, OK),
    "updateProfile": (UNAUTH, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "uploadAttachment": (CSRF_403, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "deleteAttachment": (UNAUTH, OK, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "submitForReview": (UNAUTH, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "markMessagesRead": (UNAUTH, OK, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "returnForCorrection": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, FORBIDDEN),
    "approveCandidate": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, FORBIDDEN),
    "rejectCandidate": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, FORBIDDEN),
    "sendFeedback": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, FORBIDDEN),
    "setAttachmentVerdict": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, FORBIDDEN),
    "claimCandidate": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, OK),
    "claimNext": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, EMPTY, OK),
    "releaseCandidate": (UNAUTH, FORBIDDEN, FORBIDDEN, OK, NOT_FOUND, OK),
    # subscriptions: OK means the caller's own events arrive and nobody else's do
    "reviewEvents": (CLOSED_4403, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    "queueEvents": (CLOSED_4403, FORBIDDEN, FORBIDDEN, OK, OK, OK),
}


@cache
def jpeg_bytes(seed: int) -> bytes:
    return small_jpeg(seed)


def jpeg(seed: int) -> dict[str, FilePart]:
    return {"file": FilePart(f"photo{seed}.jpg", jpeg_bytes(seed), "image/jpeg")}


async def mint_token(
    service: Service, candidate: Candidate | None = None, staff: StaffUser | None = None
) -> str:
    """A session exactly as `login` makes one, without the password check."""
    expires = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())
    if candidate is not None:
        role = Role.CANDIDATE
    else:
        assert staff is not None, "a session belongs to a candidate or a staff member"
        role = staff.role
    with service.db():
        session = await Session.create(
            id=new_session_id(), role=role, candidate=candidate, staff=staff,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )
    return sign_token(service.settings.secret_key, session.id, expires)


@dataclass
class World:
    service: Service
    categories: dict[str, MaterialCategory]
    region: str
    site_a: str
    site_other: str
    a: Candidate
    b: Candidate
    staff: dict[str, StaffUser]
    tokens: dict[str, str | None] = field(default_factory=dict)
    clients: dict[str, GraphQLClient] = field(default_factory=dict)

    def client(self, actor: str) -> GraphQLClient:
        # Made on first use: each HTTP client costs tens of milliseconds to build.
        if actor not in self.clients:
            self.clients[actor] = self.service.client(self.tokens[actor])
        return self.clients[actor]

    def candidate_row(self, actor: str) -> Candidate:
        return {"candidate_a": self.a, "candidate_b": self.b}[actor]

    async def fresh(self, candidate: Candidate) -> Candidate:
        with self.service.db():
            return await Candidate.get(id=candidate.id)

    async def upload(self, owner: str, code: str, seed: int) -> str:
        result = await self.client(owner).upload(
            op.UPLOAD, {"categoryId": str(self.categories[code].id)}, jpeg(seed)
        )
        payload = result.payload("uploadAttachment")
        assert payload["errors"] == [], payload
        return str(payload["attachment"]["id"])

    async def complete_materials(self, owner: str) -> None:
        for code, seed in (("ID", 1), ("ID", 2), ("EDU", 3), ("PROBATION", 4)):
            await self.upload(owner, code, seed)

    async def set_status(self, candidate: Candidate, status: ReviewStatus) -> None:
        moment = datetime.now(UTC)
        with self.service.db():
            await Candidate.filter(id=candidate.id).update(
                status=status, submitted_at=moment, queue_at=moment
            )

    async def message_for(self, candidate: Candidate, body: str) -> ReviewMessage:
        with self.service.db():
            return await ReviewMessage.create(
                candidate_id=candidate.id, kind=MessageKind.FEEDBACK, body=body, author_name="审核员",
                created_at=datetime.now(UTC),
            )


@pytest.fixture
async def world(service: Service, categories: dict[str, MaterialCategory]) -> AsyncIterator[World]:
    region, site_a, site_other = unique("矩阵区"), unique("考点A"), unique("考点B")
    a = await make_candidate(service, region=region, site=site_a)
    b = await make_candidate(service, region=region, site=site_a)
    staff = {
        "examiner_a": await make_staff(service, region, site_a, Role.EXAMINER),
        "examiner_other": await make_staff(service, region, site_other, Role.EXAMINER),
        "admin": await make_staff(service, region, None, Role.ADMIN),
    }
    built = World(service, categories, region, site_a, site_other, a, b, staff)
    built.tokens["anonymous"] = None
    built.tokens["candidate_a"] = await mint_token(service, candidate=a)
    built.tokens["candidate_b"] = await mint_token(service, candidate=b)
    for name, row in staff.items():
        built.tokens[name] = await mint_token(service, staff=row)
    yield built
    for client in built.clients.values():
        await client.aclose()


def outcome(result: Result, name: str) -> str:
    """What came back, in the words of MATRIX."""
    if result.status_code != 200:
        return f"HTTP {result.status_code} " + " ".join(str(c) for c in result.error_codes)
    if result.errors:
        assert len(result.errors) == 1, result.errors
        # A refused field yields no data for it, ever.
        assert result.data is None or result.data.get(name) is None, result.data
        return str(result.error_codes[0])
    assert result.data is not None
    value = result.data[name]
    if value is None:
        return NULL
    if isinstance(value, dict) and value.get("errors"):
        return ",".join(e["code"] for e in value["errors"])
    return OK


Case = Callable[[World, str], Awaitable[str]]
CASES: dict[str, Case] = {}


def case(name: str) -> Callable[[Case], Case]:
    def register(run: Case) -> Case:
        CASES[name] = run
        return run

    return register


# Queries


@case("me")
async def _me(w: World, actor: str) -> str:
    result = await w.client(actor).execute("query { me { id username admissionNo } }")
    got = outcome(result, "me")
    if got == OK:
        row = w.candidate_row(actor)
        assert result.payload("me") == {
            "id": str(row.id), "username": row.username, "admissionNo": row.admission_no,
        }
    return got


@case("candidate")
async def _candidate(w: World, actor: str) -> str:
    result = await w.client(actor).execute(
        "query($id: ID!) { candidate(id: $id) { id admissionNo } }", {"id": str(w.a.id)}
    )
    got = outcome(result, "candidate")
    if got == OK:
        assert result.payload("candidate") == {"id": str(w.a.id), "admissionNo": w.a.admission_no}
    return got


@case("candidateByAdmissionNo")
async def _by_admission_no(w: World, actor: str) -> str:
    result = await w.client(actor).execute(op.BY_ADMISSION_NO, {"no": w.a.admission_no})
    got = outcome(result, "candidateByAdmissionNo")
    if got == OK:
        assert result.payload("candidateByAdmissionNo")["id"] == str(w.a.id)
    return got


@case("reviewQueue")
async def _review_queue(w: World, actor: str) -> str:
    result = await w.client(actor).execute(
        op.QUEUE, {"status": ["DRAFT", "SUBMITTED"], "search": w.a.admission_no}
    )
    got = outcome(result, "reviewQueue")
    if got == OK:
        connection = result.payload("reviewQueue")
        if connection["totalCount"] == 0:
            return EMPTY
        assert [e["node"]["id"] for e in connection["edges"]] == [str(w.a.id)]
    return got


@case("categories")
async def _categories(w: World, actor: str) -> str:
    result = await w.client(actor).execute(op.CATEGORIES)
    got = outcome(result, "categories")
    if got == OK:
        codes = {c["code"] for c in result.payload("categories")}
        assert {"ID", "EDU", "PROBATION", "ASSISTANT_CERT"} <= codes
    return got


# Mutations


@case("login")
async def _login(w: World, actor: str) -> str:
    # Anyone may sign in; a token already on the request changes nothing.
    result = await w.client(actor).execute(op.LOGIN, {"u": w.a.username, "p": PASSWORD})
    got = outcome(result, "login")
    if got == OK:
        payload = result.payload("login")
        assert payload["role"] == "CANDIDATE" and payload["candidate"]["id"] == str(w.a.id)
    return got


@case("logout")
async def _logout(w: World, actor: str) -> str:
    client = w.client(actor)
    result = await client.execute(op.LOGOUT)
    got = outcome(result, "logout")
    if got == OK:
        assert result.data == {"logout": True}
        after = await client.execute(op.CATEGORIES)
        assert after.error_codes == [UNAUTH]
    return got


@case("updateProfile")
async def _update_profile(w: World, actor: str) -> str:
    result = await w.client(actor).execute(
        op.UPDATE_PROFILE, {"phone": "13712345678", "address": "新的地址 8 号"}
    )
    got = outcome(result, "updateProfile")
    a = await w.fresh(w.a)
    b = await w.fresh(w.b)
    if got == OK:
        changed, untouched = (a, b) if actor == "candidate_a" else (b, a)
        assert changed.phone == "13712345678" and changed.address == "新的地址 8 号"
        assert untouched.phone == "13800138000"
    else:
        assert a.phone == b.phone == "13800138000"
    return got


@case("uploadAttachment")
async def _upload(w: World, actor: str) -> str:
    result = await w.client(actor).upload(
        op.UPLOAD, {"categoryId": str(w.categories["EDU"].id)}, jpeg(5)
    )
    got = outcome(result, "uploadAttachment")
    with w.service.db():
        owners = await Attachment.filter(candidate_id__in=[w.a.id, w.b.id]).values_list(
            "candidate_id", flat=True
        )
    if got == OK:
        assert owners == [w.candidate_row(actor).id]
    else:
        assert owners == []
    return got


@case("deleteAttachment")
async def _delete(w: World, actor: str) -> str:
    picture = await w.upload("candidate_a", "EDU", 6)
    result = await w.client(actor).execute(op.DELETE, {"id": picture})
    got = outcome(result, "deleteAttachment")
    with w.service.db():
        still_there = await Attachment.exists(id=picture)
    if got == OK:
        assert result.payload("deleteAttachment")["deletedId"] == picture
    assert still_there is (got != OK)
    if actor == "candidate_b":
        # Looks exactly like a picture that does not exist.
        absent = await w.client(actor).execute(
            op.DELETE, {"id": "00000000-0000-4000-8000-000000000000"}
        )
        assert absent.data == result.data
    return got


@case("submitForReview")
async def _submit(w: World, actor: str) -> str:
    if actor in ("candidate_a", "candidate_b"):
        await w.complete_materials(actor)
    result = await w.client(actor).execute(op.SUBMIT)
    got = outcome(result, "submitForReview")
    a, b = await w.fresh(w.a), await w.fresh(w.b)
    if got == OK:
        mine, other = (a, b) if actor == "candidate_a" else (b, a)
        assert mine.status == ReviewStatus.SUBMITTED and other.status == ReviewStatus.DRAFT
        assert result.payload("submitForReview")["candidate"]["id"] == str(mine.id)
    else:
        assert a.status == b.status == ReviewStatus.DRAFT
    return got


@case("markMessagesRead")
async def _mark_read(w: World, actor: str) -> str:
    message = await w.message_for(w.a, "请核对身份证。")
    result = await w.client(actor).execute(op.MARK_READ, {"ids": [str(message.id)]})
    got = outcome(result, "markMessagesRead")
    with w.service.db():
        read_at = (await ReviewMessage.get(id=message.id)).read_at
    if got == OK:
        assert result.payload("markMessagesRead")["unreadMessageCount"] == 0
        assert read_at is not None
    else:
        assert read_at is None
    if actor == "candidate_b":
        # B's own "mark everything read" leaves A's messages alone.
        everything = await w.client(actor).execute(op.MARK_READ, {"ids": None})
        assert everything.payload("markMessagesRead") == {"unreadMessageCount": 0, "errors": []}
        with w.service.db():
            assert (await ReviewMessage.get(id=message.id)).read_at is None
    return got


async def _decision(w: World, actor: str, document: str, name: str, extra: dict[str, Any], status: ReviewStatus) -> str:
    await w.set_status(w.a, ReviewStatus.SUBMITTED)
    result = await w.client(actor).execute(document, {"id": str(w.a.id), **extra})
    got = outcome(result, name)
    after = (await w.fresh(w.a)).status
    assert after == (status if got == OK else ReviewStatus.SUBMITTED)
    return got


@case("returnForCorrection")
async def _return(w: World, actor: str) -> str:
    return await _decision(w, actor, op.RETURN, "returnForCorrection", {"message": "请补充。"}, ReviewStatus.RETURNED)


@case("approveCandidate")
async def _approve(w: World, actor: str) -> str:
    return await _decision(w, actor, op.APPROVE, "approveCandidate", {}, ReviewStatus.APPROVED)


@case("rejectCandidate")
async def _reject(w: World, actor: str) -> str:
    return await _decision(w, actor, op.REJECT, "rejectCandidate", {"reason": "不符合。"}, ReviewStatus.REJECTED)


@case("sendFeedback")
async def _feedback(w: World, actor: str) -> str:
    result = await w.client(actor).execute(op.FEEDBACK, {"id": str(w.a.id), "body": "你好。"})
    got = outcome(result, "sendFeedback")
    with w.service.db():
        count = await ReviewMessage.filter(candidate_id=w.a.id).count()
    assert count == (1 if got == OK else 0)
    return got


@case("setAttachmentVerdict")
async def _verdict(w: World, actor: str) -> str:
    picture = await w.upload("candidate_a", "EDU", 7)
    await w.set_status(w.a, ReviewStatus.SUBMITTED)
    result = await w.client(actor).execute(op.VERDICT, {"id": picture, "verdict": "ACCEPTED"})
    got = outcome(result, "setAttachmentVerdict")
    with w.service.db():
        verdict = (await Attachment.get(id=picture)).verdict
    assert verdict == ("ACCEPTED" if got == OK else "PENDING")
    return got


async def _holder(w: World) -> int | None:
    return (await w.fresh(w.a)).claim_staff_id


def _staff_id(w: World, actor: str) -> int | None:
    return w.staff[actor].id if actor in w.staff else None


@case("claimCandidate")
async def _claim(w: World, actor: str) -> str:
    await w.set_status(w.a, ReviewStatus.SUBMITTED)
    result = await w.client(actor).execute(op.CLAIM, {"id": str(w.a.id)})
    got = outcome(result, "claimCandidate")
    assert await _holder(w) == (_staff_id(w, actor) if got == OK else None)
    return got


@case("claimNext")
async def _claim_next(w: World, actor: str) -> str:
    await w.set_status(w.a, ReviewStatus.SUBMITTED)
    result = await w.client(actor).execute(op.CLAIM_NEXT, {"site": None})
    got = outcome(result, "claimNext")
    if got == OK and result.data["claimNext"]["candidate"] is None:  # type: ignore[index]
        got = EMPTY
    if got == OK:
        assert result.data["claimNext"]["candidate"]["id"] == str(w.a.id)  # type: ignore[index]
    assert await _holder(w) == (_staff_id(w, actor) if got == OK else None)
    return got


@case("releaseCandidate")
async def _release(w: World, actor: str) -> str:
    await w.set_status(w.a, ReviewStatus.SUBMITTED)
    holder = w.staff["examiner_a"]
    with w.service.db():
        await Candidate.filter(id=w.a.id).update(
            claim_staff_id=holder.id, claimed_at=datetime.now(UTC),
            claim_expires_at=datetime.now(UTC) + timedelta(minutes=10),
        )
    result = await w.client(actor).execute(op.RELEASE, {"id": str(w.a.id)})
    got = outcome(result, "releaseCandidate")
    assert await _holder(w) == (None if got == OK else holder.id)
    return got


# Subscriptions


async def _subscription_access(w: World, actor: str, query: str) -> str | None:
    """CLOSED 4403 or the error code when access is refused; None when the subscription runs."""
    url = "ws" + w.service.base_url.removeprefix("http") + "/graphql"
    token = w.tokens[actor]
    async with websockets.connect(url, subprotocols=[GRAPHQL_TRANSPORT_WS]) as socket:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            first = json.loads(await asyncio.wait_for(socket.recv(), 10))
        except websockets.ConnectionClosed:
            return f"CLOSED {socket.close_code}"
        assert first["type"] == "connection_ack", first
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        try:
            answer = json.loads(await asyncio.wait_for(socket.recv(), 10))
        except TimeoutError:
            return None  # accepted: waiting for events
        assert answer["type"] == "error" and answer["id"] == "1", answer
        return str(answer["payload"][0]["extensions"]["code"])


@case("reviewEvents")
async def _review_events(w: World, actor: str) -> str:
    if actor not in ("candidate_a", "candidate_b"):
        refused = await _subscription_access(w, actor, op.REVIEW_EVENTS)
        assert refused is not None
        return refused
    examiner = w.client("examiner_a")
    client = w.client(actor)
    mine, other = (w.a, w.b) if actor == "candidate_a" else (w.b, w.a)
    async with client.subscribe(op.REVIEW_EVENTS) as events:
        await subscribed(w.service, candidate_topic(mine.id))
        # Another candidate's message first: it must not arrive here.
        for row, body in ((other, "给另一位考生"), (mine, "给本人")):
            sent = await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": body})
            assert sent.payload("sendFeedback")["errors"] == []
        event = (await events.next())["data"]["reviewEvents"]
        assert event["message"]["body"] == "给本人"
        assert event["status"] == "DRAFT" and event["locked"] is False
    return OK


@case("queueEvents")
async def _queue_events(w: World, actor: str) -> str:
    if actor not in ("examiner_a", "examiner_other", "admin"):
        refused = await _subscription_access(w, actor, op.QUEUE_EVENTS)
        assert refused is not None
        return refused
    other_site = await make_candidate(w.service, region=w.region, site=w.site_other)
    expected = {"examiner_a": w.a, "examiner_other": other_site, "admin": w.a}[actor]
    await w.set_status(w.a, ReviewStatus.SUBMITTED)
    await w.set_status(other_site, ReviewStatus.SUBMITTED)
    other_examiner = w.client("examiner_other")
    async with w.client(actor).subscribe(op.QUEUE_EVENTS) as events:
        await subscribed(w.service, queue_topic(w.region))
        # A leaves the queue first (approved at A's site), then the other site's candidate.
        approved = await w.client("examiner_a").execute(op.APPROVE, {"id": str(w.a.id)})
        assert approved.payload("approveCandidate")["errors"] == []
        approved = await other_examiner.execute(op.APPROVE, {"id": str(other_site.id)})
        assert approved.payload("approveCandidate")["errors"] == []
        event = (await events.next())["data"]["queueEvents"]
        assert event["candidate"]["id"] == str(expected.id)
        assert event["status"] == "APPROVED"
    return OK


def test_every_contract_operation_is_in_the_matrix() -> None:
    from schema import build_schema

    schema = build_schema()._schema
    operations = set()
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        assert root is not None
        operations |= set(root.fields)
    contract = {
        "me", "candidate", "candidateByAdmissionNo", "reviewQueue", "categories", "login",
        "logout", "updateProfile", "uploadAttachment", "deleteAttachment", "submitForReview",
        "markMessagesRead", "returnForCorrection", "approveCandidate", "rejectCandidate",
        "sendFeedback", "setAttachmentVerdict", "reviewEvents", "queueEvents",
        "claimCandidate", "claimNext", "releaseCandidate",
    }
    assert contract <= operations
    assert set(MATRIX) == set(CASES) == contract


@pytest.mark.parametrize(
    ("operation", "actor", "expected"),
    [
        pytest.param(operation, actor, expected, id=f"{operation}-{actor}")
        for operation, row in MATRIX.items()
        for actor, expected in zip(ACTORS, row, strict=True)
    ],
)
async def test_access(world: World, operation: str, actor: str, expected: str) -> None:
    assert await CASES[operation](world, actor) == expected


async def test_bad_token_is_unauthenticated_even_for_multipart(world: World) -> None:
    # With an Authorization header the multipart body is parsed, and the bad token is refused.
    client = world.client("anonymous").with_token("v1.forged.1.signature")
    result = await client.upload(op.UPLOAD, {"categoryId": str(world.categories["ID"].id)}, jpeg(8))
    assert result.status_code == 200 and result.error_codes == [UNAUTH]
    await client.aclose()


async def test_candidate_b_never_sees_a_data(world: World) -> None:
    """Everything B can read holds nothing of A: ids, numbers, pictures, messages."""
    picture = await world.upload("candidate_a", "ID", 9)
    message = await world.message_for(world.a, "只给考生 A 的消息")
    result = await world.client("candidate_b").execute(op.ME)
    assert result.errors == []
    text = json.dumps(result.data, ensure_ascii=False)
    for secret in (world.a.username, world.a.admission_no, picture, message.body):
        assert secret not in text
    me = result.payload("me")
    assert me["id"] == str(world.b.id) and me["messages"] == []
    assert me["unreadMessageCount"] == 0
    assert all(m["attachments"] == [] for m in me["materials"])

"""server/sms/http.py against a real flaky HTTP server on loopback: retries, backoff, failed, webhooks."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models import Candidate, OutboxMessage
from models.enums import ReviewStatus
from models.notifications import OutboxKind, OutboxStatus
from server.sms.http import HttpGateway, HttpPoster, verify
from server.sms.sender import OutboxSender
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as settings_for

SMS_SECRET = "sms-provider-secret"
HOOK_SECRET = "webhook-secret"


@dataclass
class FlakyEndpoint:
    """Answers 500 to the first `failures` calls of each idempotency key, then 200."""

    failures: int = 2
    attempts: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    bodies: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:] if ":" in x)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        key = headers.get("idempotency-key", "")
        self.attempts[key] += 1
        ok = self.attempts[key] > self.failures
        if ok:
            self.accepted[key] += 1
            self.bodies.append((headers, body))
        status = "200 OK" if ok else "500 Internal Server Error"
        writer.write(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class Rig:
    service: Service
    endpoint: FlakyEndpoint
    url: str


@pytest.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    endpoint = FlakyEndpoint()
    url = await endpoint.start()
    folder = tmp_path_factory.mktemp("sms_http")
    service = await start_service(
        settings_for(
            folder,
            sms_sender_enabled=False,
            sms_merge_seconds=0,
            webhook_urls=(f"{url}/hooks/decisions",),
            webhook_secret=HOOK_SECRET,
        )
    )
    yield Rig(service, endpoint, url)
    await service.stop()
    await endpoint.stop()


def http_sender(rig: Rig, base: float = 10, cap: float = 40, max_attempts: int = 6) -> OutboxSender:
    settings = replace(
        rig.service.settings,
        sender_backoff_base_seconds=base,
        sender_backoff_cap_seconds=cap,
        sender_max_attempts=max_attempts,
    )
    return OutboxSender(
        settings,
        HttpGateway(f"{rig.url}/sms", SMS_SECRET, 5),
        HttpPoster(HOOK_SECRET, 5),
        "http-worker",
    )


async def candidates_with_sms(rig: Rig, count: int) -> tuple[list[Candidate], list[int]]:
    region = unique("短信省")
    staff = await make_staff(rig.service, region=region, site=None)
    examiner = await signed_in(rig.service, staff.username)
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        row = await make_candidate(
            rig.service, region=region, phone=f"135{i:08d}",
            status=ReviewStatus.SUBMITTED, submitted_at=now, queue_at=now,
        )
        result = await examiner.execute(op.RETURN, {"id": str(row.id), "message": f"请重新上传 {i}"})
        assert result.payload("returnForCorrection")["errors"] == []
        rows.append(row)
    await examiner.aclose()
    with rig.service.db():
        outbox = await OutboxMessage.filter(candidate_id__in=[r.id for r in rows], kind=OutboxKind.SMS)
    ids = [message.id for message in outbox]
    return rows, ids


async def test_retries_with_backoff_until_the_provider_accepts_once(rig: Rig) -> None:
    rig.endpoint.failures = 2
    _rows, ids = await candidates_with_sms(rig, 5)
    assert len(ids) == 5
    sender = http_sender(rig, base=10, cap=15)
    clock = datetime.now(UTC) + timedelta(seconds=1)
    waits: dict[int, list[float]] = {pk: [] for pk in ids}
    with rig.service.db():
        for _ in range(8):  # bounded: 3 rounds are enough
            await sender.run_once(clock)
            for row in await OutboxMessage.filter(id__in=ids, status=OutboxStatus.QUEUED):
                waits[row.id].append((row.next_attempt_at - clock).total_seconds())
            if not await OutboxMessage.filter(id__in=ids, status=OutboxStatus.QUEUED).exists():
                break
            # Not yet due one second before the backoff ends, due right after it.
            early = await sender.run_once(clock + timedelta(seconds=9))
            assert not set(early.sent_ids) & set(ids)
            clock += timedelta(seconds=16)
        rows_after = await OutboxMessage.filter(id__in=ids)
    keys = {r.idempotency_key for r in rows_after}
    attempts = sum(rig.endpoint.attempts[k] for k in keys)
    deliveries = sum(rig.endpoint.accepted[k] for k in keys)
    duplicates = sum(max(rig.endpoint.accepted[k] - 1, 0) for k in keys)
    print(f"\nretry figures: SMS {len(keys)}, attempts {attempts}, deliveries {deliveries}, duplicates {duplicates}")
    assert all(r.status == OutboxStatus.SENT and r.attempts == 3 for r in rows_after)
    assert attempts == 15 and deliveries == 5 and duplicates == 0
    # base 10 s, doubled, capped at 15 s
    assert all(w == [10.0, 15.0] for w in waits.values()), waits
    # The provider got JSON it can check: signature over timestamp and body, and the key.
    for headers, body in rig.endpoint.bodies:
        if headers.get("idempotency-key") not in keys:
            continue
        assert verify(SMS_SECRET, headers["x-exam-review-timestamp"], body, headers["x-exam-review-signature"])
        assert not verify("wrong", headers["x-exam-review-timestamp"], body, headers["x-exam-review-signature"])
        sent = json.loads(body)
        assert sent["idempotencyKey"] == headers["idempotency-key"]
        assert sent["phone"].startswith("135") and "有新的审核通知" in sent["text"]


async def test_after_the_last_attempt_the_sms_is_failed_and_the_examiner_sees_it(rig: Rig) -> None:
    rig.endpoint.failures = 1000
    rows, ids = await candidates_with_sms(rig, 1)
    sender = http_sender(rig, base=1, cap=2, max_attempts=3)
    clock = datetime.now(UTC) + timedelta(seconds=1)
    with rig.service.db():
        for _ in range(3):
            await sender.run_once(clock)
            clock += timedelta(seconds=3)
        # Failed for good: never tried again.
        await sender.run_once(clock + timedelta(days=1))
        row = await OutboxMessage.get(id=ids[0])
    assert row.status == OutboxStatus.FAILED and row.attempts == 3 and row.failed_at is not None
    assert rig.endpoint.attempts[row.idempotency_key] == 3
    query = "query($id: ID!) { candidate(id: $id) { messages { kind sms { status attempts failedAt lastError } } } }"
    staff = await make_staff(rig.service, region=rows[0].region, site=None)
    examiner = await signed_in(rig.service, staff.username)
    seen = (await examiner.execute(query, {"id": str(rows[0].id)})).payload("candidate")["messages"][0]
    assert seen["sms"]["status"] == "FAILED" and seen["sms"]["attempts"] == 3
    assert seen["sms"]["lastError"] == "HTTP 500" and seen["sms"]["failedAt"]
    candidate = await signed_in(rig.service, rows[0].username)
    own = (await candidate.execute("query { me { messages { sms { status lastError } } } }")).payload("me")
    assert own["messages"][0]["sms"] == {"status": "FAILED", "lastError": None}
    for client in (candidate, examiner):
        await client.aclose()


async def test_unreachable_provider_is_retried(rig: Rig, tmp_path: Path) -> None:
    rig.endpoint.failures = 0
    _rows, ids = await candidates_with_sms(rig, 1)
    settings = replace(rig.service.settings, sender_max_attempts=5)
    # A port nobody listens on: connection refused is a failed attempt, not a crash.
    dead = OutboxSender(settings, HttpGateway("http://127.0.0.1:9/sms", SMS_SECRET, 2), HttpPoster("x", 2), "dead")
    with rig.service.db():
        await dead.run_once(datetime.now(UTC) + timedelta(seconds=1))
        row = await OutboxMessage.get(id=ids[0])
        assert row.status == OutboxStatus.QUEUED and row.attempts == 1 and row.last_error
        # The next worker with a working gateway delivers it.
        report = await http_sender(rig).run_once(datetime.now(UTC) + timedelta(seconds=30))
    assert ids[0] in report.sent_ids
    assert rig.endpoint.accepted[row.idempotency_key] == 1


async def test_final_decisions_post_signed_webhooks_through_the_outbox(rig: Rig) -> None:
    rig.endpoint.failures = 1
    region = unique("回调省")
    staff = await make_staff(rig.service, region=region, site=None)
    examiner = await signed_in(rig.service, staff.username)
    now = datetime.now(UTC)
    decided = {}
    for action, document, variables in (
        ("APPROVED", op.APPROVE, {}),
        ("REJECTED", op.REJECT, {"reason": "材料与报名信息不一致"}),
        ("RETURNED", op.RETURN, {"message": "请重新上传"}),
    ):
        row = await make_candidate(
            rig.service, region=region, status=ReviewStatus.SUBMITTED, submitted_at=now, queue_at=now
        )
        result = await examiner.execute(document, {"id": str(row.id), **variables})
        assert not result.errors
        decided[action] = row
    with rig.service.db():
        hooks = await OutboxMessage.filter(
            kind=OutboxKind.WEBHOOK, candidate_id__in=[r.id for r in decided.values()]
        )
        # A return is not final: no webhook for it.
        assert {h.candidate_id for h in hooks} == {decided["APPROVED"].id, decided["REJECTED"].id}
        sender = http_sender(rig, base=5, cap=5)
        clock = datetime.now(UTC) + timedelta(seconds=1)
        for _ in range(4):
            await sender.run_once(clock)
            clock += timedelta(seconds=6)
        hooks = await OutboxMessage.filter(id__in=[h.id for h in hooks])
    assert all(h.status == OutboxStatus.SENT and h.attempts == 2 for h in hooks)
    received = {}
    for headers, body in rig.endpoint.bodies:
        if headers.get("idempotency-key") in {h.idempotency_key for h in hooks}:
            assert verify(HOOK_SECRET, headers["x-exam-review-timestamp"], body, headers["x-exam-review-signature"])
            event = json.loads(body)
            received[event["status"]] = event
    assert set(received) == {"APPROVED", "REJECTED"}
    assert received["REJECTED"]["message"] == "材料与报名信息不一致"
    assert received["APPROVED"]["candidate"]["admissionNo"] == decided["APPROVED"].admission_no
    assert received["APPROVED"]["decidedBy"] == staff.name
    assert sum(rig.endpoint.accepted[h.idempotency_key] for h in hooks) == 2
    await examiner.aclose()

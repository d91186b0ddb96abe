"""server/sms/sender.py: leases, concurrent senders, merge window, hold-and-drop, the log gateway."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from models import Candidate, OutboxMessage, RegionPolicy, ReviewMessage, SmsNotice
from models.enums import ReviewStatus
from models.notifications import OutboxKind, OutboxStatus
from resolvers.notifications import DEFAULT_APPROVAL_TEMPLATE, DEFAULT_SMS_TEMPLATE
from server.database import database
from server.sms.http import HttpPoster
from server.sms.log import LogGateway
from server.sms.sender import OutboxSender, backoff_seconds
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as settings_for

MERGE_SECONDS = 30
OFFICIAL = "您的医师资格考试报名材料照片，有新的审核通知，请在 24 小时之内登陆报名网站，访问报名材料上传页面，查看消息并按要求处理。"


@pytest.fixture(scope="module")
async def quiet(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    """A service whose own sender is off, so each test drives run_once itself."""
    folder = tmp_path_factory.mktemp("sms_sender")
    running = await start_service(
        settings_for(folder, sms_sender_enabled=False, sms_merge_seconds=MERGE_SECONDS)
    )
    yield running
    await running.stop()


async def submitted(service: Service, region: str, phone: str | None = None) -> Candidate:
    now = datetime.now(UTC)
    # Notices merge per phone: a phone of its own keeps each test's SMS its own.
    return await make_candidate(
        service, region=region, status=ReviewStatus.SUBMITTED, submitted_at=now, queue_at=now,
        phone=phone or unique_phone(),
    )


def unique_phone() -> str:
    return f"13{uuid.uuid4().int % 10**9:09d}"


async def examiner_of(service: Service, region: str) -> GraphQLClient:
    staff = await make_staff(service, region=region, site=None)
    return await signed_in(service, staff.username)


def sender(service: Service, log: Path, worker: str) -> OutboxSender:
    return OutboxSender(service.settings, LogGateway(log), HttpPoster("unused", 1), worker)


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def log_lines(log: Path) -> list[str]:
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_seconds(n, 10, 45) for n in range(1, 6)] == [10, 20, 40, 45, 45]


async def test_official_text_is_the_default_and_approval_has_its_own() -> None:
    from resolvers.notifications import render

    assert render(DEFAULT_SMS_TEMPLATE, {"hours": "24"}) == OFFICIAL
    assert "审核通过" in DEFAULT_APPROVAL_TEMPLATE
    assert render("{name}，{unknown}", {"name": "张伟"}) == "张伟，{unknown}"


async def test_two_concurrent_senders_deliver_each_sms_exactly_once(
    quiet: Service, tmp_path: Path
) -> None:
    region = unique("并发省")
    examiner = await examiner_of(quiet, region)
    count = 30
    for i in range(count):
        row = await submitted(quiet, region, phone=f"139{i:08d}")
        result = await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": f"第 {i} 条反馈"})
        assert result.payload("sendFeedback")["errors"] == []
    with quiet.db():
        keys = set(
            await OutboxMessage.filter(candidate__region=region).values_list("idempotency_key", flat=True)
        )
    assert len(keys) == count
    log = tmp_path / "sms.log"
    one, two = sender(quiet, log, "w1"), sender(quiet, log, "w2")
    now = later(MERGE_SECONDS + 1)
    claimed = Counter[str]()
    # The second sender has its own connection to the same SQLite file, like another process.
    async with database(quiet.settings):
        for _ in range(10):
            second = asyncio.create_task(two.run_once(now))
            with quiet.db():
                first = asyncio.create_task(one.run_once(now))
            reports = await asyncio.gather(first, second)
            claimed.update({"w1": reports[0].claimed, "w2": reports[1].claimed})
            if not any(r.claimed for r in reports):
                break
    delivered = Counter(line.split("key=")[1].split()[0] for line in log_lines(log))
    ours = {k: n for k, n in delivered.items() if k in keys}
    print(f"\nconcurrent senders: claimed {dict(claimed)}, delivered {sum(ours.values())} of {count}")
    assert set(ours) == keys
    assert max(ours.values()) == 1
    with quiet.db():
        statuses = await OutboxMessage.filter(candidate__region=region).values_list("status", flat=True)
    assert set(statuses) == {OutboxStatus.SENT}
    await examiner.aclose()


async def test_a_lease_held_by_another_worker_is_not_taken_until_it_expires(
    quiet: Service, tmp_path: Path
) -> None:
    region = unique("租约省")
    examiner = await examiner_of(quiet, region)
    row = await submitted(quiet, region)
    await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": "请注意查看"})
    now = later(MERGE_SECONDS + 1)
    with quiet.db():
        sms = await OutboxMessage.get(candidate_id=row.id)
        await OutboxMessage.filter(id=sms.id).update(lease_until=now + timedelta(seconds=60), lease_owner="dead")
        log = tmp_path / "sms.log"
        assert (await sender(quiet, log, "w1").run_once(now)).sent_ids == []
        # The dead worker's lease runs out: another worker takes the row over.
        report = await sender(quiet, log, "w1").run_once(now + timedelta(seconds=61))
        assert sms.id in report.sent_ids
    assert len([line for line in log_lines(log) if sms.idempotency_key in line]) == 1
    await examiner.aclose()


async def test_notices_to_one_phone_within_the_window_merge_into_one_sms(
    quiet: Service, tmp_path: Path
) -> None:
    region = unique("合并省")
    examiner = await examiner_of(quiet, region)
    row = await submitted(quiet, region, phone="13700000001")
    for body in ("第一条", "第二条"):
        await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": body})
    returned = await examiner.execute(op.RETURN, {"id": str(row.id), "message": "请重新上传身份证。"})
    assert returned.payload("returnForCorrection")["errors"] == []
    with quiet.db():
        rows = await OutboxMessage.filter(candidate_id=row.id)
        assert len(rows) == 1 and rows[0].notice_count == 3
        assert await SmsNotice.filter(outbox_id=rows[0].id).count() == 3
        log = tmp_path / "sms.log"
        # Nothing is due before the window closes, so a later notice could still join.
        assert rows[0].id not in (await sender(quiet, log, "w").run_once(later(1))).sent_ids
        assert rows[0].id in (await sender(quiet, log, "w").run_once(later(MERGE_SECONDS + 1))).sent_ids
    lines = [line for line in log_lines(log) if "13700000001" in line]
    assert len(lines) == 1 and lines[0].endswith(OFFICIAL)
    # Every message shows the one SMS as sent
    candidate = await signed_in(quiet, row.username)
    messages = (await candidate.execute(MESSAGES_WITH_SMS)).payload("me")["messages"]
    examiner_kinds = [m for m in messages if m["kind"] != "SYSTEM"]
    assert len(examiner_kinds) == 3
    assert {m["sms"]["status"] for m in examiner_kinds} == {"SENT"}
    assert all(m["sms"]["sentAt"] for m in examiner_kinds)
    # A notice after the SMS went out starts a new one.
    await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": "再补充一句"})
    with quiet.db():
        assert await OutboxMessage.filter(candidate_id=row.id).count() == 2
    for client in (candidate, examiner):
        await client.aclose()


async def test_outside_the_window_two_sms_and_approval_uses_its_template(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    folder = tmp_path_factory.mktemp("sms_nomerge")
    running = await start_service(settings_for(folder, sms_sender_enabled=False, sms_merge_seconds=0))
    try:
        region = unique("不合并省")
        examiner = await examiner_of(running, region)
        row = await submitted(running, region)
        await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": "先看看"})
        await examiner.execute(op.APPROVE, {"id": str(row.id)})
        log = tmp_path / "sms.log"
        with running.db():
            rows = await OutboxMessage.filter(candidate_id=row.id).order_by("id")
            assert [r.notice_count for r in rows] == [1, 1]
            assert rows[0].body == OFFICIAL and rows[1].body == DEFAULT_APPROVAL_TEMPLATE
            assert (await sender(running, log, "w").run_once()).sent == 2
        assert len(log_lines(log)) == 2
        await examiner.aclose()
    finally:
        await running.stop()


async def test_region_template_with_placeholders(quiet: Service, tmp_path: Path) -> None:
    region = unique("模板省")
    with quiet.db():
        await RegionPolicy.create(
            region=region,
            sms_template="{name}（{admission_no}）：{region}{site}考点有新的审核通知，请在 {hours} 小时内处理。",
            reply_hours=48,
        )
    examiner = await examiner_of(quiet, region)
    row = await submitted(quiet, region)
    await examiner.execute(op.RETURN, {"id": str(row.id), "message": "请补充学历证明。"})
    with quiet.db():
        sms = await OutboxMessage.get(candidate_id=row.id)
        fresh = await Candidate.get(id=row.id)
    assert sms.body == f"{row.name}（{row.admission_no}）：{region}济南考点有新的审核通知，请在 48 小时内处理。"
    assert sms.target == row.phone and sms.kind == OutboxKind.SMS
    # The region's reply deadline applies to the return as well.
    assert fresh.reply_deadline is not None and fresh.returned_at is not None
    assert fresh.reply_deadline - fresh.returned_at == timedelta(hours=48)
    await examiner.aclose()


async def test_hold_and_drop_when_the_candidate_read_the_message(quiet: Service, tmp_path: Path) -> None:
    region = unique("暂缓省")
    with quiet.db():
        await RegionPolicy.create(region=region, sms_hold_minutes=5)
    examiner = await examiner_of(quiet, region)
    reader_row = await submitted(quiet, region, phone="13600000001")
    ignorer_row = await submitted(quiet, region, phone="13600000002")
    for row in (reader_row, ignorer_row):
        await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": "请核对手机号"})
    reader = await signed_in(quiet, reader_row.username)
    assert (await reader.execute(op.MARK_READ)).payload("markMessagesRead")["unreadMessageCount"] == 0
    log = tmp_path / "sms.log"
    with quiet.db():
        ours = OutboxMessage.filter(candidate_id__in=[reader_row.id, ignorer_row.id])
        # Held: not due after the merge window, only after the hold.
        await sender(quiet, log, "w").run_once(later(MERGE_SECONDS + 5))
        assert set(await ours.values_list("status", flat=True)) == {OutboxStatus.QUEUED}
        await sender(quiet, log, "w").run_once(later(5 * 60 + 1))
        dropped = await OutboxMessage.get(candidate_id=reader_row.id)
        sent = await OutboxMessage.get(candidate_id=ignorer_row.id)
    assert dropped.status == OutboxStatus.DROPPED and dropped.dropped_at is not None
    assert dropped.attempts == 0
    assert sent.status == OutboxStatus.SENT
    assert next(line for line in log_lines(log) if "1360000000" in line).split("to=")[1][:11] == "13600000002"
    messages = (await reader.execute(MESSAGES_WITH_SMS)).payload("me")["messages"]
    assert messages[0]["sms"]["status"] == "DROPPED"
    for client in (reader, examiner):
        await client.aclose()


async def test_no_sms_without_a_phone_nor_for_the_candidates_own_submit(quiet: Service) -> None:
    region = unique("无号省")
    examiner = await examiner_of(quiet, region)
    row = await submitted(quiet, region)
    with quiet.db():
        await Candidate.filter(id=row.id).update(phone=None)
    assert (await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": "你好"})).payload(
        "sendFeedback"
    )["errors"] == []
    with quiet.db():
        assert await OutboxMessage.filter(candidate_id=row.id).count() == 0
        message = await ReviewMessage.filter(candidate_id=row.id).first()
        assert message is not None
    found = (await examiner.execute(CANDIDATE_MESSAGES, {"id": str(row.id)})).payload("candidate")
    assert found["messages"][0]["sms"] is None
    await examiner.aclose()


MESSAGES_WITH_SMS = """
query { me { messages { id kind body sms { status queuedAt nextAttemptAt sentAt failedAt attempts lastError } } } }
"""

CANDIDATE_MESSAGES = """
query($id: ID!) { candidate(id: $id) { messages { id kind sms { status attempts lastError failedAt } } } }
"""


def test_settings_read_sms_switches_from_the_environment(tmp_path: Path) -> None:
    from core.settings import Settings

    settings = Settings.from_env(
        {
            "VAR_DIR": str(tmp_path),
            "SMS_SENDER": "off",
            "SMS_GATEWAY": "http",
            "SMS_HTTP_URL": "http://127.0.0.1:9/sms",
            "SMS_MERGE_SECONDS": "0",
            "WEBHOOK_URLS": "http://a/hook,http://b/hook",
            "VERDICT_REASONS": "BLUR=模糊,OTHER=其他",
        }
    )
    assert settings.sms_sender_enabled is False and settings.sms_gateway == "http"
    assert settings.webhook_urls == ("http://a/hook", "http://b/hook")
    assert settings.verdict_reasons == ("BLUR=模糊", "OTHER=其他")
    assert replace(settings, sms_merge_seconds=5).sms_merge_seconds == 5

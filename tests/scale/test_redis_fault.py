"""Redis goes away while a candidate is subscribed: mutations commit, the message still arrives.

The test runs its own redis-server on its own port; the machine's Redis is never touched.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import tests.helpers.operations as op
from models import ReviewMessage
from models.enums import ReviewStatus
from pubsub.redis import RedisBroker
from tests.helpers.client import GraphQLClient
from tests.helpers.engines import OwnRedis
from tests.helpers.factories import PASSWORD, make_candidate, make_staff, unique
from tests.helpers.raw import Tally
from tests.helpers.service import ScaleStack, Service, start_service, test_settings
from tests.helpers.waiting import eventually, subscribed

pytestmark = pytest.mark.slow


async def signed_in(service: Service, username: str) -> GraphQLClient:
    anonymous = service.client()
    try:
        return await anonymous.login(username, PASSWORD)
    finally:
        await anonymous.aclose()


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[OwnRedis]:
    redis = OwnRedis(tmp_path / "redis").start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
async def fault_service(
    scale_stack: ScaleStack, own_redis: OwnRedis, tmp_path: Path
) -> AsyncIterator[Service]:
    urls = scale_stack.urls({})
    urls["broker_url"] = f"{own_redis.url}?prefix={unique('er-fault')}"
    running = await start_service(test_settings(tmp_path, **urls))
    yield running
    await running.stop()


async def test_a_return_made_while_redis_is_down_reaches_the_candidate(
    fault_service: Service, own_redis: OwnRedis
) -> None:
    tally = Tally("redis fault")
    service = fault_service
    row = await make_candidate(service, status=ReviewStatus.SUBMITTED)
    examiner = await signed_in(service, (await make_staff(service)).username)
    candidate = await signed_in(service, row.username)
    try:
        async with candidate.subscribe(op.REVIEW_EVENTS) as events:
            await subscribed(service, f"candidate:{row.id}")
            own_redis.stop()
            started = time.monotonic()
            returned = await examiner.execute(
                op.RETURN, {"id": str(row.id), "message": "Redis 停止期间退回：请重新上传身份证。"}
            )
            fed = await examiner.execute(
                op.FEEDBACK, {"id": str(row.id), "body": "Redis 停止期间的反馈。"}
            )
            tally.add("mutation ms while down", int((time.monotonic() - started) * 1000))
            # the mutations committed although nothing could be published
            assert returned.payload("returnForCorrection")["errors"] == []
            assert returned.payload("returnForCorrection")["candidate"]["status"] == "RETURNED"
            assert fed.payload("sendFeedback")["errors"] == []
            with service.db():
                assert await ReviewMessage.filter(candidate_id=row.id).count() == 2
            tally.add("written while down", 2)

            own_redis.start()  # same port: the service reconnects on its own
            caught_up = [(await events.next(within=60))["data"]["reviewEvents"] for _ in range(2)]
            assert [e["message"]["kind"] for e in caught_up] == ["RETURNED", "FEEDBACK"]
            assert caught_up[0]["message"]["body"] == "Redis 停止期间退回：请重新上传身份证。"
            assert all(e["status"] == "RETURNED" for e in caught_up)
            tally.add("received after restart", len(caught_up))

            # live delivery resumes, and nothing is delivered twice
            again = await examiner.execute(
                op.FEEDBACK, {"id": str(row.id), "body": "恢复后的反馈。"}
            )
            assert again.payload("sendFeedback")["errors"] == []
            live = (await events.next(within=20))["data"]["reviewEvents"]
            assert live["message"]["body"] == "恢复后的反馈。"
            tally.add("received live after restart", 1)
    finally:
        await candidate.aclose()
        await examiner.aclose()
    tally.add("lost", tally.counts["written while down"] - tally.counts["received after restart"])
    tally.report()
    assert tally.counts["lost"] == 0


async def test_subscribing_while_redis_is_down_still_delivers(
    fault_service: Service, own_redis: OwnRedis
) -> None:
    service = fault_service
    row = await make_candidate(service, status=ReviewStatus.SUBMITTED)
    examiner = await signed_in(service, (await make_staff(service)).username)
    candidate = await signed_in(service, row.username)
    try:
        own_redis.stop()
        async with candidate.subscribe(op.REVIEW_EVENTS) as events:
            broker = service.services.broker
            assert isinstance(broker, RedisBroker)
            # Redis is down, so only this process can say the subscription is registered.
            await eventually(
                lambda: broker.subscriber_count(f"candidate:{row.id}") == 1,
                "the subscription is registered in the service",
                within=20,
            )
            returned = await examiner.execute(
                op.RETURN, {"id": str(row.id), "message": "请补充学历证明。"}
            )
            assert returned.payload("returnForCorrection")["errors"] == []
            own_redis.start()
            event = (await events.next(within=60))["data"]["reviewEvents"]
            assert event["message"]["body"] == "请补充学历证明。"
    finally:
        await candidate.aclose()
        await examiner.aclose()

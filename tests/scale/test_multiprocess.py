"""Two `exam-review serve` processes sharing PostgreSQL, Redis and S3 behave like one.

Run with `-s` to see the figures: deliveries, races tried, none lost or over-filled.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from redis.asyncio import Redis

import tests.helpers.operations as op
from models import Attachment, Candidate, MaterialCategory
from models.enums import ReviewStatus
from tests.helpers.client import FilePart, GraphQLClient, Result
from tests.helpers.engines import REDIS_URL
from tests.helpers.factories import PASSWORD, load_demo_categories, make_candidate, make_staff
from tests.helpers.pictures import small_jpeg
from tests.helpers.processes import ServerProcess, serve_env
from tests.helpers.raw import Tally
from tests.helpers.service import ScaleStack, Service, start_service, test_settings
from tests.helpers.waiting import broker_channel, wait_for_listeners

pytestmark = pytest.mark.slow

QUICK_UPLOAD = """
mutation($categoryId: ID!, $file: Upload!) {
  uploadAttachment(categoryId: $categoryId, file: $file) {
    attachment { id sha256 uploadedAt } errors { code }
  }
}
"""
_seeds = itertools.count(1000)


@dataclass
class Cluster:
    service: Service  # the tests' own window on the shared database (a third worker)
    workers: list[ServerProcess]
    categories: dict[str, MaterialCategory]
    redis: Redis

    async def sign_in(self, worker: int, username: str) -> GraphQLClient:
        anonymous = GraphQLClient(self.workers[worker].url)
        try:
            return await anonymous.login(username, PASSWORD)
        finally:
            await anonymous.aclose()


@pytest.fixture(scope="module")
async def cluster(
    scale_stack: ScaleStack, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Cluster]:
    folder = tmp_path_factory.mktemp("cluster")
    settings = test_settings(folder, **scale_stack.urls({}))
    service = await start_service(settings)
    categories = await load_demo_categories(service, tmp_path_factory.mktemp("examples"))
    env = serve_env(settings)
    workers = [ServerProcess.serve(env, folder, name=f"worker{n}").start() for n in (1, 2)]
    redis = Redis.from_url(REDIS_URL)
    try:
        for worker in workers:
            await worker.wait_ready()
        yield Cluster(service, workers, categories, redis)
    finally:
        codes = [await worker.stop() for worker in workers]
        await redis.aclose()
        await service.stop()
    # SIGTERM ends each worker gracefully (uvicorn re-raises the signal once shut down)
    assert set(codes) <= {0, -signal.SIGTERM}, codes
    for worker in workers:
        assert "Application shutdown complete." in worker.log_tail(), worker.log_tail()


def jpeg() -> dict[str, FilePart]:
    return {"file": FilePart("photo.jpg", small_jpeg(next(_seeds)), "image/jpeg")}


def error_codes(result: Result, name: str) -> list[str]:
    return [e["code"] for e in result.payload(name)["errors"]]


async def test_a_return_made_on_one_process_reaches_a_candidate_on_the_other(
    cluster: Cluster,
) -> None:
    tally = Tally("multi-process deliveries")
    service = cluster.service
    examiner_row = await make_staff(service)
    examiner = await cluster.sign_in(1, examiner_row.username)
    now = datetime.now(UTC)
    rows = [
        await make_candidate(service, status=ReviewStatus.SUBMITTED, submitted_at=now, queue_at=now)
        for _ in range(8)
    ]
    candidates = [await cluster.sign_in(0, row.username) for row in rows]
    async with AsyncExitStack() as stack:
        subscriptions = [
            await stack.enter_async_context(client.subscribe(op.REVIEW_EVENTS))
            for client in candidates
        ]
        channels = [broker_channel(service.settings, f"candidate:{row.id}") for row in rows]
        await wait_for_listeners(cluster.redis, channels)

        sent: dict[int, list[str]] = {}
        for row in rows:
            bodies = [
                f"请补充说明 {row.id}-1",
                f"请补充说明 {row.id}-2",
                f"照片模糊，请重新上传 {row.id}",
            ]
            for body in bodies[:2]:
                fed = await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": body})
                assert fed.payload("sendFeedback")["errors"] == []
            returned = await examiner.execute(op.RETURN, {"id": str(row.id), "message": bodies[2]})
            assert returned.payload("returnForCorrection")["errors"] == []
            sent[row.id] = bodies
            tally.add("sent via process 2", 3)

        for row, subscription in zip(rows, subscriptions, strict=True):
            events = [
                (await subscription.next(within=20))["data"]["reviewEvents"] for _ in range(3)
            ]
            assert [e["message"]["body"] for e in events] == sent[row.id]
            assert [e["message"]["kind"] for e in events] == ["FEEDBACK", "FEEDBACK", "RETURNED"]
            assert events[-1]["status"] == "RETURNED" and events[-1]["locked"] is False
            ids = [int(e["message"]["id"]) for e in events]
            assert ids == sorted(set(ids))
            tally.add("delivered on process 1", len(events))
            # nothing more: no duplicate arrives after the three
            assert await subscription.nothing_within(0.5)
    tally.add("lost", tally.counts["sent via process 2"] - tally.counts["delivered on process 1"])
    tally.report()
    assert tally.counts["lost"] == 0
    for client in [examiner, *candidates]:
        await client.aclose()


async def test_concurrent_uploads_on_two_processes_never_overfill_a_category(
    cluster: Cluster,
) -> None:
    tally = Tally("multi-process slot races")
    id_card = cluster.categories["ID"]
    category_id = str(id_card.id)
    async with httpx.AsyncClient() as http:
        for round_no in range(4):
            row = await make_candidate(cluster.service)
            clients = [await cluster.sign_in(n, row.username) for n in (0, 1)]
            prefilled = round_no % 2  # 2 free slots, then 1 free slot
            for _ in range(prefilled):
                done = await clients[0].upload(QUICK_UPLOAD, {"categoryId": category_id}, jpeg())
                assert error_codes(done, "uploadAttachment") == []
            free = id_card.max_count - prefilled

            parts = [jpeg() for _ in range(50)]
            results = await asyncio.gather(
                *(
                    clients[n % 2].upload(QUICK_UPLOAD, {"categoryId": category_id}, files)
                    for n, files in enumerate(parts)
                )
            )
            accepted = [
                r.payload("uploadAttachment")
                for r in results
                if not r.payload("uploadAttachment")["errors"]
            ]
            refused = [error_codes(r, "uploadAttachment") for r in results]
            refused = [codes for codes in refused if codes]
            assert len(accepted) == free
            assert all(codes == ["CATEGORY_FULL"] for codes in refused), refused
            with cluster.service.db():
                rows = await Attachment.filter(candidate_id=row.id, category_id=id_card.id)
            assert len(rows) == id_card.max_count
            assert sorted(r.slot for r in rows) == list(range(id_card.max_count))
            # none lost: every accepted picture has its row and its bytes in S3
            stored = {r.sha256: r for r in rows}
            for payload in accepted:
                attachment = payload["attachment"]
                assert attachment["sha256"] in stored
                key = stored[attachment["sha256"]].storage_key
                assert len(await cluster.service.services.store.get(key)) > 0
            # refused uploads left no bytes behind (removed when their transaction failed)
            keys = [
                item.key
                async for item in cluster.service.services.store.scan()
                if item.key.startswith(f"pictures/{row.id}/")
            ]
            assert sorted(keys) == sorted(r.storage_key for r in rows)
            # the picture is served by either process (same secret, same store)
            me = await clients[1].execute(op.ME)
            for material in me.payload("me")["materials"]:
                for attachment in material["attachments"]:
                    assert (await http.get(attachment["url"])).status_code == 200
            tally.add("uploads tried", len(parts))
            tally.add("accepted", len(accepted))
            tally.add("refused CATEGORY_FULL", len(refused))
            tally.add("over-filled", max(0, len(rows) - id_card.max_count))
            for client in clients:
                await client.aclose()
    tally.report()
    assert tally.counts["over-filled"] == 0


async def test_uploads_racing_a_submit_never_land_after_it(cluster: Cluster) -> None:
    tally = Tally("multi-process upload/submit races")
    categories = cluster.categories
    for round_no in range(5):
        row = await make_candidate(cluster.service)
        clients = [await cluster.sign_in(n, row.username) for n in (0, 1)]
        # everything required is in place, so the submit succeeds
        for code, count in (("ID", 2), ("EDU", 1), ("PROBATION", 1)):
            for _ in range(count):
                done = await clients[0].upload(
                    QUICK_UPLOAD, {"categoryId": str(categories[code].id)}, jpeg()
                )
                assert error_codes(done, "uploadAttachment") == []
        before = {a.id for a in await _attachments(cluster.service, row.id)}

        optional = str(categories["ASSISTANT_CERT"].id)
        uploads = [
            clients[n % 2].upload(QUICK_UPLOAD, {"categoryId": optional}, jpeg()) for n in range(20)
        ]
        submit = clients[round_no % 2].execute(op.SUBMIT)
        results = await asyncio.gather(*uploads[:10], submit, *uploads[10:])
        submitted = results[10].payload("submitForReview")
        assert submitted["errors"] == []
        upload_results = results[:10] + results[11:]

        with cluster.service.db():
            candidate = await Candidate.get(id=row.id)
        assert candidate.status == ReviewStatus.SUBMITTED and candidate.submitted_at is not None
        landed = [a for a in await _attachments(cluster.service, row.id) if a.id not in before]
        for attachment in landed:
            assert attachment.uploaded_at <= candidate.submitted_at
        outcomes = [error_codes(r, "uploadAttachment") for r in upload_results]
        assert sum(1 for codes in outcomes if not codes) == len(landed) <= 1
        assert all(codes in ([], ["LOCKED"], ["CATEGORY_FULL"]) for codes in outcomes), outcomes
        tally.add("racing uploads", len(upload_results))
        tally.add("landed before submit", len(landed))
        tally.add("refused LOCKED", sum(1 for codes in outcomes if codes == ["LOCKED"]))
        tally.add(
            "refused CATEGORY_FULL", sum(1 for codes in outcomes if codes == ["CATEGORY_FULL"])
        )
        tally.add("landed after submit", 0)
        for client in clients:
            await client.aclose()
    tally.report()
    assert tally.counts["racing uploads"] == 100


async def _attachments(service: Service, candidate_id: int) -> list[Attachment]:
    with service.db():
        return await Attachment.filter(candidate_id=candidate_id)


def test_workers_log_to_their_own_files(cluster: Cluster) -> None:
    for worker in cluster.workers:
        assert worker.log_path.exists()
        assert "Traceback" not in worker.log_tail(400), worker.log_tail()

"""Load without loss: a bounded mixed load on a real `exam-review serve` process.

Candidates upload, delete, submit and listen to their reviewEvents; an examiner polls the
queue, returns every submission and listens to queueEvents. Checked: zero 5xx, every
ReviewMessage written reaches its candidate's socket, every queue change reaches the
examiner, and the workers' memory (RSS) is flat after warm-up.

Two workers share events only through a real broker: that variant skips on memory://.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from models import ReviewMessage
from models.enums import Role
from resolvers.admin import add_staff_user
from server.database import database
from tests.helpers import operations as op
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.factories import PASSWORD
from tests.helpers.pictures import small_jpeg
from tests.helpers.processes import ServerProcess, serve_env
from tests.helpers.raw import Tally
from tests.helpers.service import test_settings as settings_for
from tests.helpers.uploaders import Uploader, prepare_uploaders
from tests.helpers.waiting import eventually

PICTURES = [small_jpeg(seed) for seed in range(300, 304)]


@dataclass
class Counts:
    statuses: Counter[int] = field(default_factory=Counter)
    review_events: dict[int, set[str]] = field(default_factory=dict)
    queue_events: Counter[str] = field(default_factory=Counter)
    submits: int = 0
    returns: int = 0
    sending: int = 0  # clients still sending requests

    def saw(self, status: int) -> None:
        self.statuses[status // 100 * 100] += 1


@dataclass
class Load:
    """When the clients stop sending, and when they may close their sockets."""

    stop: asyncio.Event = field(default_factory=asyncio.Event)  # the load is over
    delivered: asyncio.Event = field(default_factory=asyncio.Event)  # every event arrived

    async def sent_everything(self, counts: Counts) -> None:
        """Say this client sends no more, and keep its socket listening until all arrived."""
        counts.sending -= 1
        await self.delivered.wait()


async def _candidate(
    url: str, uploader: Uploader, load: Load, counts: Counts, seed: int
) -> None:
    rng = random.Random(seed)
    client = GraphQLClient(url, uploader.token)
    required = {c.code: c for c in uploader.categories}
    received = counts.review_events.setdefault(uploader.candidate_id, set())

    async def upload(code: str) -> None:
        result = await client.upload(
            op.UPLOAD, {"categoryId": str(required[code].id)},
            {"file": FilePart("a.jpg", rng.choice(PICTURES), "image/jpeg")},
        )
        counts.saw(result.status_code)

    async with client.subscribe(op.REVIEW_EVENTS) as events:

        async def listen() -> None:
            while True:
                payload = await events.next(within=3600)
                received.add(payload["data"]["reviewEvents"]["message"]["id"])

        listener = asyncio.create_task(listen())
        for code in ("ID", "ID", "EDU", "PROBATION"):
            await upload(code)
        while not load.stop.is_set():
            me = await client.execute(op.ME)
            counts.saw(me.status_code)
            mine = me.data["me"] if me.data else None
            if mine is not None and mine["status"] in ("DRAFT", "RETURNED"):
                if mine["status"] == "RETURNED":  # replace one picture, as a real correction does
                    ids = [a["id"] for m in mine["materials"] for a in m["attachments"]
                           if m["category"]["code"] == "EDU"]
                    for attachment_id in ids:
                        counts.saw((await client.execute(op.DELETE, {"id": attachment_id})).status_code)
                    await upload("EDU")
                result = await client.execute(op.SUBMIT)
                counts.saw(result.status_code)
                if result.data and result.data["submitForReview"]["errors"] == []:
                    counts.submits += 1
            # Paces the load generator: a person's pause between looks at the page.
            await asyncio.sleep(rng.uniform(0.05, 0.3))
        await load.sent_everything(counts)
        listener.cancel()
    await client.aclose()


async def _examiner(url: str, token: str, load: Load, counts: Counts) -> None:
    client = GraphQLClient(url, token)
    async with client.subscribe(op.QUEUE_EVENTS) as events:

        async def listen() -> None:
            while True:
                payload = await events.next(within=3600)
                counts.queue_events[payload["data"]["queueEvents"]["status"]] += 1

        listener = asyncio.create_task(listen())
        while not load.stop.is_set():
            queue = await client.execute(op.QUEUE, {"first": 50})
            counts.saw(queue.status_code)
            for edge in (queue.data or {}).get("reviewQueue", {}).get("edges", []):
                result = await client.execute(
                    op.RETURN, {"id": edge["node"]["id"], "message": "请补充学历证明。"}
                )
                counts.saw(result.status_code)
                if result.data and result.data["returnForCorrection"]["errors"] == []:
                    counts.returns += 1
            # Paces the load generator: the examiner looks at the queue five times a second.
            await asyncio.sleep(0.2)
        await load.sent_everything(counts)
        listener.cancel()
    await client.aclose()


async def _run_load(tmp_path: Path, workers: int, seconds: float) -> None:
    settings = settings_for(tmp_path)
    uploaders = await prepare_uploaders(settings, tmp_path / "examples")
    async with database(settings):
        await add_staff_user(Role.EXAMINER, "load_examiner", PASSWORD, "山东省", "济南", "审核员")
    tally = Tally(f"load x{workers}")
    env = serve_env(settings, SMS_SENDER="off")
    server = ServerProcess.serve(env, tmp_path, "--workers", str(workers))
    await server.started()
    counts = Counts()
    rss: list[tuple[float, int]] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for uploader in uploaders:
            await uploader.sign_in(server.url)
        anonymous = GraphQLClient(server.url)
        examiner_token = (await anonymous.login("load_examiner", PASSWORD)).token
        await anonymous.aclose()
        assert examiner_token is not None
        load = Load()
        started = time.monotonic()
        tasks.extend(
            asyncio.create_task(_candidate(server.url, u, load, counts, seed=i))
            for i, u in enumerate(uploaders)
        )
        tasks.append(asyncio.create_task(_examiner(server.url, examiner_token, load, counts)))
        counts.sending = len(tasks)

        def check_clients() -> None:
            for task in tasks:
                if task.done():
                    task.result()  # a crashed client fails the test at once

        while time.monotonic() - started < seconds:
            rss.append((time.monotonic() - started, server.rss(workers_only=True)))
            # Paces the memory samples: one a second.
            await asyncio.sleep(1)
            check_clients()
        load.stop.set()

        def all_sent() -> bool:
            check_clients()
            return counts.sending == 0

        await eventually(all_sent, "every client sent its last request", within=60, every=0.1)
        async with database(settings):
            written = {
                uploader.candidate_id: {
                    str(i) for i in await ReviewMessage.filter(candidate_id=uploader.candidate_id)
                    .values_list("id", flat=True)
                }
                for uploader in uploaders
            }

        def all_arrived() -> bool:
            check_clients()
            return (
                all(counts.review_events[c] >= ids for c, ids in written.items())
                and counts.queue_events["SUBMITTED"] >= counts.submits
                and counts.queue_events["RETURNED"] >= counts.returns
            )

        await eventually(all_arrived, "every event written reached its socket", within=30, every=0.1)
        load.delivered.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        for task in tasks:
            task.cancel()  # only those a failure left waiting
        await server.stop()

    # Zero 5xx, and the load really ran.
    tally.add("requests", sum(counts.statuses.values()))
    tally.add("submits", counts.submits)
    tally.add("returns", counts.returns)
    assert counts.statuses[500] == 0, counts.statuses
    assert counts.submits >= len(uploaders) and counts.returns >= len(uploaders)
    # Zero lost events: every message written reached its candidate's socket, nothing else did.
    for uploader in uploaders:
        assert written[uploader.candidate_id] == counts.review_events[uploader.candidate_id], (
            uploader.candidate_id
        )
        tally.add("review events", len(written[uploader.candidate_id]))
    assert counts.queue_events["SUBMITTED"] == counts.submits
    assert counts.queue_events["RETURNED"] == counts.returns
    tally.add("queue events", sum(counts.queue_events.values()))
    # Memory flat after warm-up: the later half's median within a generous band of the earlier.
    warm = [value for at, value in rss if at >= seconds * 0.2]
    half = len(warm) // 2
    first, second = statistics.median(warm[:half]), statistics.median(warm[half:])
    print(f"\nRSS medians: {first / 2**20:.1f} MiB then {second / 2**20:.1f} MiB")
    tally.report()
    assert second <= first * 1.3 + 16 * 2**20, (first, second)


@pytest.mark.slow
async def test_mixed_load_on_one_worker_loses_nothing(tmp_path: Path) -> None:
    await _run_load(tmp_path, workers=1, seconds=30)


@pytest.mark.slow
async def test_two_minute_mixed_load_on_two_workers_loses_nothing(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    if settings.broker_url.startswith("memory://"):
        pytest.skip("two workers share events only through Redis; EXAM_REVIEW_STACK=scale runs this")
    await _run_load(tmp_path, workers=2, seconds=120)

"""Crash consistency: a real `exam-review serve` process is killed mid-upload, again and again.

After every SIGKILL and restart, every upload a client saw succeed is present and intact,
every delete a client saw succeed is gone, no row lacks its bytes, and the orphan sweep
(by hand, and at start) removes bytes without a row and says so. It runs on whichever stack
`tests.helpers.service.test_settings` gives (SQLite + folder by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import signal
import socket
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from core.security import hash_password
from core.settings import Settings
from models import Attachment, Candidate, MaterialCategory
from server.database import database, migrate
from server.demo import load_categories
from storage import open_store
from storage.base import ObjectMissing
from tests.helpers import operations as op
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.factories import PASSWORD, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.raw import Tally
from tests.helpers.service import test_settings as settings_for

KILLS = 5
UPLOADERS = 6
PICTURES = [small_jpeg(seed) for seed in range(200, 206)]
EXAM_REVIEW = str(Path(sys.executable).with_name("exam-review"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        STORAGE_URL=settings.storage_url,
        BROKER_URL=settings.broker_url,
        SECRET_KEY=settings.secret_key,
        VAR_DIR=str(settings.var_dir),
        THROTTLE_PER_ADDRESS="100000",
        SMS_SENDER="off",
        **extra,
    )
    return env


@dataclass
class Server:
    settings: Settings
    log: Path
    port: int = field(default_factory=_free_port)
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *args: str, **extra: str) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                EXAM_REVIEW, "serve", "--port", str(self.port), *args,
                env=_environment(self.settings, **extra), stdout=log, stderr=log,
                start_new_session=True,
            )
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(300):
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                assert self.process.returncode is None, self.log.read_text(errors="replace")
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not start: " + self.log.read_text(errors="replace"))

    async def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 20)
            except TimeoutError:
                await self.kill()


@dataclass
class Uploader:
    """One candidate uploading and deleting, remembering only what the server confirmed."""

    candidate_id: int
    username: str
    categories: list[MaterialCategory]
    token: str | None = None
    confirmed: dict[str, str] = field(default_factory=dict)  # id -> sha256 the client saw
    deleted: set[str] = field(default_factory=set)  # deletes the client saw succeed
    uncertain: set[str] = field(default_factory=set)  # delete sent, answer lost
    tally: Tally | None = None

    async def run(self, url: str, stop: asyncio.Event, seed: int) -> None:
        rng = random.Random(seed)
        client = GraphQLClient(url, self.token)
        try:
            while not stop.is_set():
                try:
                    await self._one_step(client, rng)
                except (httpx.HTTPError, OSError):
                    await asyncio.sleep(0.05)  # the server is down; the kill is in progress
        finally:
            await client.aclose()

    async def _one_step(self, client: GraphQLClient, rng: random.Random) -> None:
        held = len(self.confirmed) + len(self.uncertain)
        if held >= 3 and self.confirmed and rng.random() < 0.5:
            victim = rng.choice(sorted(self.confirmed))
            self.uncertain.add(victim)
            sha = self.confirmed.pop(victim)
            result = await client.execute(op.DELETE, {"id": victim})
            payload = result.payload("deleteAttachment")
            if payload["errors"] == []:
                self.uncertain.discard(victim)
                self.deleted.add(victim)
                if self.tally:
                    self.tally.add("deletes confirmed")
            else:  # e.g. never existed: keep it as it was
                self.uncertain.discard(victim)
                self.confirmed[victim] = sha
            return
        category = rng.choice(self.categories)
        data = rng.choice(PICTURES)
        result = await client.upload(
            op.UPLOAD, {"categoryId": str(category.id)}, {"file": FilePart("a.jpg", data, "image/jpeg")}
        )
        payload = result.payload("uploadAttachment")
        if payload["errors"] == []:
            attachment = payload["attachment"]
            assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
            self.confirmed[attachment["id"]] = attachment["sha256"]
            if self.tally:
                self.tally.add("uploads confirmed")
        else:
            assert [e["code"] for e in payload["errors"]] == ["CATEGORY_FULL"], payload


@asynccontextmanager
async def _orm(settings: Settings) -> AsyncIterator[None]:
    async with database(settings):
        yield


async def prepare_world(settings: Settings, folder: Path) -> tuple[list[Uploader], list[MaterialCategory]]:
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    await migrate(settings)
    store = open_store(settings.storage_url)
    await store.start()
    password_hash = hash_password(PASSWORD)
    uploaders = []
    async with _orm(settings):
        await load_categories(store, folder)
        categories = list(await MaterialCategory.all())
        for _ in range(UPLOADERS):
            username = unique("crash")
            row = await Candidate.create(
                username=username, password_hash=password_hash, name=username,
                admission_no=unique("C"), exam_category_code="2020110",
                exam_category_name="临床执业医师", region="山东省", site="济南", stage="报名",
                registered_at=datetime.now(UTC), queue_at=datetime.now(UTC),
                phone="13800138000", address="济南",
            )
            uploaders.append(Uploader(row.id, username, categories))
    await store.close()
    return uploaders, categories


async def _verify(settings: Settings, server: Server, uploaders: list[Uploader], tally: Tally) -> None:
    """Nothing confirmed is lost, nothing confirmed-deleted is back, no row lacks bytes."""
    store = open_store(settings.storage_url)
    await store.start()
    try:
        async with _orm(settings):
            rows = await Attachment.filter(candidate_id__in=[u.candidate_id for u in uploaders])
        by_id = {str(r.id): r for r in rows}
        for row in rows:
            data = await store.get(row.storage_key)
            assert hashlib.sha256(data).hexdigest() == row.sha256, row.id
            await store.get(row.thumbnail_key)
            tally.add("rows checked")
        for uploader in uploaders:
            for attachment_id, sha in uploader.confirmed.items():
                assert attachment_id in by_id, f"confirmed upload {attachment_id} lost"
                assert by_id[attachment_id].sha256 == sha
            for attachment_id in uploader.deleted:
                assert attachment_id not in by_id, f"confirmed delete {attachment_id} came back"
            # Uncertain deletes settle one way or the other; either is consistent.
            for attachment_id in list(uploader.uncertain):
                uploader.uncertain.discard(attachment_id)
                if attachment_id in by_id:
                    uploader.confirmed[attachment_id] = by_id[attachment_id].sha256
            # The served bytes, through the signed address, are the confirmed ones.
            client = GraphQLClient(server.url, uploader.token)
            me = (await client.execute(op.ME)).data["me"]  # type: ignore[index]
            served = {a["id"]: a for m in me["materials"] for a in m["attachments"]}
            assert set(uploader.confirmed) <= set(served)
            async with httpx.AsyncClient(timeout=20) as http:
                for attachment_id in uploader.confirmed:
                    body = (await http.get(served[attachment_id]["url"])).content
                    assert hashlib.sha256(body).hexdigest() == uploader.confirmed[attachment_id]
                    tally.add("downloads checked")
            await client.aclose()
    finally:
        await store.close()


@pytest.mark.slow
async def test_sigkill_mid_upload_loses_nothing_and_the_sweep_cleans_up(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    uploaders, _ = await prepare_world(settings, tmp_path / "examples")
    tally = Tally("crash consistency")
    server = Server(settings, tmp_path / "serve.log")
    await server.start()
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        for uploader in uploaders:
            login = await http.post(
                "/graphql",
                json={"query": op.LOGIN, "variables": {"u": uploader.username, "p": PASSWORD}},
            )
            uploader.token = login.json()["data"]["login"]["token"]
            uploader.tally = tally
    rng = random.Random(7)
    try:
        for kill in range(KILLS):
            stop = asyncio.Event()
            tasks = [
                asyncio.create_task(u.run(server.url, stop, seed=kill * 100 + i))
                for i, u in enumerate(uploaders)
            ]
            await asyncio.sleep(rng.uniform(1.0, 2.5))
            await server.kill()  # mid-flight: uploads are being written right now
            tally.add("kills")
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
            await server.start()
            await _verify(settings, server, uploaders, tally)
    finally:
        await server.stop()

    # Plant an orphan the way a crash between write and commit leaves one.
    store = open_store(settings.storage_url)
    await store.start()
    orphan = f"pictures/{uploaders[0].candidate_id}/{uuid.uuid4()}.jpg"
    await store.put(orphan, PICTURES[0])
    sweep = await asyncio.create_subprocess_exec(
        EXAM_REVIEW, "sweep", "--grace-seconds", "0",
        env=_environment(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(sweep.communicate(), 60))[0].decode()
    assert sweep.returncode == 0, output
    assert f"已删除 {orphan}" in output
    removed = [line for line in output.splitlines() if line.startswith("已删除 ")]
    tally.add("orphans swept", len(removed))
    assert f"孤立 {len(removed)} 个" in output
    with pytest.raises(ObjectMissing):
        await store.get(orphan)
    # Afterwards every stored object is named by a row (or is a category's example).
    async with _orm(settings):
        referenced = set()
        for key, thumb in await Attachment.all().values_list("storage_key", "thumbnail_key"):
            referenced.update((key, thumb))
        referenced.update(k for k in await MaterialCategory.all().values_list("example_key", flat=True) if k)
    stored = {item.key async for item in store.scan()}
    assert stored == referenced

    # The sweep also runs when the service starts (here with no grace, to see it act).
    second = f"thumbnails/{uploaders[0].candidate_id}/{uuid.uuid4()}.jpg"
    await store.put(second, PICTURES[1])
    await server.start(ORPHAN_GRACE_SECONDS="0")
    await server.stop()
    log = server.log.read_text(errors="replace")
    assert f"已删除 {second}" in log
    with pytest.raises(ObjectMissing):
        await store.get(second)
    await store.close()
    await _verify_after_stop(settings, uploaders)
    tally.report()
    assert tally.counts["kills"] == KILLS
    assert tally.counts.get("uploads confirmed", 0) >= KILLS


async def _verify_after_stop(settings: Settings, uploaders: list[Uploader]) -> None:
    """The start-up sweep removed only orphans: every confirmed upload still has its bytes."""
    store = open_store(settings.storage_url)
    await store.start()
    async with _orm(settings):
        rows = {str(r.id): r for r in await Attachment.filter(candidate_id__in=[u.candidate_id for u in uploaders])}
    for uploader in uploaders:
        for attachment_id, sha in uploader.confirmed.items():
            data = await store.get(rows[attachment_id].storage_key)
            assert hashlib.sha256(data).hexdigest() == sha
    await store.close()

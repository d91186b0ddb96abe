"""Crash consistency: a real `exam-review serve` process is killed mid-upload, again and again.

After every SIGKILL and restart, every upload a client saw succeed is present and intact,
every delete a client saw succeed is gone, no row lacks its bytes, and the orphan sweep
(by hand, and at start) removes bytes without a row and says so. It runs on whichever stack
`tests.helpers.service.test_settings` gives (SQLite + folder by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from pathlib import Path

import httpx
import pytest

from core.settings import Settings
from models import Attachment, MaterialCategory
from server.database import database
from storage import open_store
from storage.base import ObjectMissing
from tests.helpers import operations as op
from tests.helpers.client import GraphQLClient
from tests.helpers.processes import EXAM_REVIEW, ServerProcess, serve_env
from tests.helpers.raw import Tally
from tests.helpers.service import test_settings as settings_for
from tests.helpers.uploaders import PICTURES, Uploader, prepare_uploaders
from tests.helpers.waiting import eventually

KILLS = 5
# The last words of a sweep's report (`exam-review sweep`, and the one at start).
SWEEP_REPORT = "近期写入暂不处理"
UPLOADERS = 6


async def _verify(
    settings: Settings, server: ServerProcess, uploaders: list[Uploader], tally: Tally
) -> None:
    """Nothing confirmed is lost, nothing confirmed-deleted is back, no row lacks bytes."""
    store = open_store(settings.storage_url)
    await store.start()
    try:
        async with database(settings):
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
            me = (await client.execute(op.ME)).payload("me")
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
    uploaders = await prepare_uploaders(settings, tmp_path / "examples", UPLOADERS)
    tally = Tally("crash consistency")
    server = ServerProcess.serve(serve_env(settings, SMS_SENDER="off"), tmp_path)
    await server.started()
    for uploader in uploaders:
        await uploader.sign_in(server.url)
        uploader.tally = tally
    rng = random.Random(7)
    try:
        for kill in range(KILLS):
            stop = asyncio.Event()
            tasks = [
                asyncio.create_task(u.run(server.url, stop, seed=kill * 100 + i))
                for i, u in enumerate(uploaders)
            ]
            # Paces the fault, waits for no state: the uploads run a random while, then the kill.
            await asyncio.sleep(rng.uniform(1.0, 2.5))
            await server.kill()  # mid-flight: uploads are being written right now
            tally.add("kills")
            stop.set()
            await asyncio.wait_for(asyncio.gather(*tasks), 30)
            await server.started()
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
        env=serve_env(settings, SMS_SENDER="off"), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
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
    async with database(settings):
        referenced: set[str] = set()
        for key, thumb in await Attachment.all().values_list("storage_key", "thumbnail_key"):
            referenced.update((key, thumb))
        referenced.update(c.example_key for c in await MaterialCategory.all() if c.example_key)
    stored = {item.key async for item in store.scan()}
    assert stored == referenced

    # The sweep also runs when the service starts (here with no grace, to see it act), in the
    # background: the service answers before it is done, so wait for its report in the log.
    second = f"thumbnails/{uploaders[0].candidate_id}/{uuid.uuid4()}.jpg"
    await store.put(second, PICTURES[1])
    reports = server.log_path.read_text(errors="replace").count(SWEEP_REPORT)
    await server.started(ORPHAN_GRACE_SECONDS="0")
    await eventually(
        lambda: server.log_path.read_text(errors="replace").count(SWEEP_REPORT) > reports,
        "the start-up sweep's report in the log", within=60,
    )
    await server.stop()
    log = server.log_path.read_text(errors="replace")
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
    async with database(settings):
        rows = {str(r.id): r for r in await Attachment.filter(candidate_id__in=[u.candidate_id for u in uploaders])}
    for uploader in uploaders:
        for attachment_id, sha in uploader.confirmed.items():
            data = await store.get(rows[attachment_id].storage_key)
            assert hashlib.sha256(data).hexdigest() == sha
    await store.close()

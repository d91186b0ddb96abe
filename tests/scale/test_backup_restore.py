"""Backup and restore, proven: pg_dump and a copy of the bucket taken while uploads run, restored
into a fresh database and bucket, and every restored picture served with its own SHA-256.

What the backup may lack is only what was written after the dump began (README, "Backup and
restore"). `pytest -s` prints the figures.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import subprocess
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from models import Attachment
from models.enums import Role
from resolvers.admin import sweep_orphans
from storage.s3 import S3Store
from tests.helpers import operations as op
from tests.helpers.accounts import candidate_signed_in, signed_in
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.engines import create_database
from tests.helpers.factories import make_staff, unique
from tests.helpers.flows import fetch, make_category
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import STACK, ScaleStack, Service, start_service, test_settings
from tests.helpers.waiting import eventually

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        STACK != "scale",
        reason="pg_dump and a bucket copy need PostgreSQL and S3: run with EXAM_REVIEW_STACK=scale",
    ),
]
UPLOADERS = 4
UPLOADS_EACH = 40


@dataclass(frozen=True)
class Acknowledged:
    at: float
    attachment_id: str
    sha256: str


def pg_tool(name: str) -> str:
    found = shutil.which(name) or f"/usr/lib/postgresql/15/bin/{name}"
    if not Path(found).exists():
        pytest.fail(f"{name} not found: apt-get install postgresql-client")
    return found


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{command[0]}: {done.stderr}"


async def copy_bucket(source: S3Store, target_url: str) -> int:
    """Every object, one by one, as `aws s3 sync` would copy it."""
    target = S3Store.from_url(target_url)
    await target.start()
    copied = 0
    try:
        async for item in source.scan():
            await target.put(item.key, await source.get(item.key))
            copied += 1
    finally:
        await target.close()
    return copied


async def keep_uploading(
    client: GraphQLClient, category_ids: list[int], pictures: list[bytes], done: list[Acknowledged]
) -> None:
    for n, picture in enumerate(pictures):
        result = await client.upload(
            op.UPLOAD, {"categoryId": str(category_ids[n % len(category_ids)])},
            {"file": FilePart("photo.jpg", picture, "image/jpeg")},
        )  # fmt: skip
        attachment = result.payload("uploadAttachment")["attachment"]
        assert attachment is not None, result.raw
        done.append(Acknowledged(time.monotonic(), attachment["id"], attachment["sha256"]))
        await asyncio.sleep(0.03)  # a steady stream, so uploads run all through the backup


async def test_a_backup_taken_while_uploads_run_restores_every_picture(
    scale_stack: ScaleStack, tmp_path: Path
) -> None:
    source = await start_service(test_settings(tmp_path / "source"))
    restored: Service | None = None
    try:
        (tmp_path / "examples").mkdir()
        # Two categories of 20 pictures (the most a category takes): room for 40 uploads each.
        category_ids = [
            (await make_category(source, tmp_path / "examples", "山东省", maxCount=20)).id
            for _ in range(2)
        ]
        admin = await make_staff(source, region="*", site=None, role=Role.ADMIN)
        candidates = [await candidate_signed_in(source) for _ in range(UPLOADERS)]
        pictures = [small_jpeg(3000 + n) for n in range(UPLOADERS * UPLOADS_EACH)]
        acknowledged: list[Acknowledged] = []
        uploads = [
            asyncio.create_task(
                keep_uploading(
                    c.client, category_ids, pictures[n * UPLOADS_EACH : (n + 1) * UPLOADS_EACH], acknowledged
                )
            )
            for n, c in enumerate(candidates)
        ]
        # Half the uploads are in when the backup starts; the other half run through it.
        half = UPLOADERS * UPLOADS_EACH // 2
        await eventually(lambda: len(acknowledged) >= half, "half the uploads confirmed", 120)

        # The backup: the dump first (its snapshot is taken as it starts), then the bucket.
        dump = tmp_path / "exam-review.dump"
        dump_began = time.monotonic()
        await asyncio.to_thread(
            run, pg_tool("pg_dump"), "--format=custom", f"--file={dump}", source.settings.database_url
        )
        copy_bucket_name = f"er-restore-{unique('b').lower().replace('_', '-')}"
        copied = await copy_bucket(
            source.services.store,  # type: ignore[arg-type]
            scale_stack.s3.storage_url(copy_bucket_name),
        )
        backup_done = time.monotonic()
        await asyncio.gather(*uploads)
        during = [a for a in acknowledged if dump_began <= a.at <= backup_done]
        assert during, "no upload ran while the backup was taken"

        # The restore: a fresh database and the copied bucket, served by a new service.
        name = f"er_{scale_stack.run_id}_restored"
        restored_url = create_database(name)
        scale_stack.databases.append(name)
        await asyncio.to_thread(
            run, pg_tool("pg_restore"), "--no-owner", f"--dbname={restored_url}", str(dump)
        )
        restored = await start_service(
            test_settings(
                tmp_path / "restored",
                database_url=restored_url,
                storage_url=scale_stack.s3.storage_url(copy_bucket_name),
            )
        )
        with restored.db():
            restored_ids = {str(pk) for pk in await Attachment.all().values_list("id", flat=True)}
        before_dump = {a.attachment_id for a in acknowledged if a.at < dump_began}
        after_dump = {a.attachment_id for a in acknowledged if a.at >= dump_began}
        assert before_dump <= restored_ids, "an upload confirmed before the dump began is missing"
        assert restored_ids <= before_dump | after_dump  # nothing that was never confirmed

        # Every restored picture, served by the restored service, is the bytes that were sent.
        staff = await signed_in(restored, admin.username)
        sha_sent = {a.attachment_id: a.sha256 for a in acknowledged}
        checked = mismatches = 0
        for candidate in candidates:
            result = await staff.execute(op.CANDIDATE, {"id": candidate.id})
            assert result.data is not None, result.errors
            for material in result.data["candidate"]["materials"]:
                for picture in material["attachments"]:
                    response = await fetch(picture["url"])
                    served = hashlib.sha256(response.content).hexdigest()
                    checked += 1
                    if response.status_code != 200 or not (
                        served == picture["sha256"] == sha_sent[picture["id"]]
                    ):
                        mismatches += 1
        await staff.aclose()
        assert checked == len(restored_ids)
        assert mismatches == 0

        # Bytes of uploads committed after the dump began have no row: the sweep removes them.
        with restored.db():
            swept = await sweep_orphans(restored.services.store, timedelta(0))
            assert await Attachment.all().count() == len(restored_ids)
        print(
            f"\n[backup/restore] {len(acknowledged)} uploads, {len(during)} of them confirmed while "
            f"the backup ran ({backup_done - dump_began:.2f} s, {copied} objects copied); "
            f"pictures checked {checked}, mismatches {mismatches}; confirmed before the dump "
            f"began: {len(before_dump)}, all restored; after: {len(after_dump & restored_ids)} "
            f"restored, {len(after_dump - restored_ids)} not (written after the dump began); "
            f"orphans swept after the restore: {len(swept.removed)}"
        )
        for candidate in candidates:
            await candidate.client.aclose()
    finally:
        if restored is not None:
            await restored.stop()
        await source.stop()

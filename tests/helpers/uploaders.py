"""Candidates uploading and deleting against a real server process, for the crash and load proofs.

Each `Uploader` remembers only what the server confirmed, so a proof can check afterwards
that nothing confirmed was lost and nothing confirmed-deleted came back.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from core.security import hash_password
from core.settings import Settings
from models import Candidate, MaterialCategory
from server.database import database, migrate
from server.demo import load_categories
from storage import open_store
from tests.helpers import operations as op
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.factories import PASSWORD, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.raw import Tally

PICTURES = [small_jpeg(seed) for seed in range(200, 206)]


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

    async def sign_in(self, url: str) -> None:
        anonymous = GraphQLClient(url)
        try:
            self.token = (await anonymous.login(self.username, PASSWORD)).token
        finally:
            await anonymous.aclose()

    async def run(self, url: str, stop: asyncio.Event, seed: int) -> None:
        rng = random.Random(seed)
        client = GraphQLClient(url, self.token)
        try:
            while not stop.is_set():
                try:
                    await self._one_step(client, rng)
                except (httpx.HTTPError, OSError):
                    # Retry backoff: the server is down while a kill and restart are under way.
                    await asyncio.sleep(0.05)
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


async def prepare_uploaders(settings: Settings, examples: Path, count: int = 6) -> list[Uploader]:
    """Migrate, load the demo categories and create `count` candidates in 山东省/济南."""
    await asyncio.to_thread(examples.mkdir, parents=True, exist_ok=True)
    await migrate(settings)
    store = open_store(settings.storage_url)
    await store.start()
    password_hash = hash_password(PASSWORD)
    uploaders = []
    try:
        async with database(settings):
            await load_categories(store, examples)
            categories = list(await MaterialCategory.all())
            for _ in range(count):
                username = unique("crash")
                row = await Candidate.create(
                    username=username, password_hash=password_hash, name=username,
                    admission_no=unique("C"), exam_category_code="2020110",
                    exam_category_name="临床执业医师", region="山东省", site="济南", stage="报名",
                    registered_at=datetime.now(UTC), queue_at=datetime.now(UTC),
                    phone="13800138000", address="济南",
                )
                uploaders.append(Uploader(row.id, username, categories))
    finally:
        await store.close()
    return uploaders

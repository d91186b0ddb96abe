"""The races of issue 2, run many times over real HTTP against the real service.

(a) Several uploads for the last free slot(s): exactly as many win as there were free slots, the
    rest get CATEGORY_FULL, the category never holds more than maxCount, and the losers leave
    no file behind.
(b) Uploads racing 提交审核: each upload either lands before the lock (uploadedAt <= submittedAt,
    and it is part of the submission) or gets LOCKED; never a picture added after submittedAt.

Outcomes depend on scheduling, so the tests assert only what must hold in every ordering; the
stagger between the racers varies per round so that both orderings actually happen.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from models import Attachment, AuditEntry, Candidate, MaterialCategory
from models.enums import AuditAction
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate, unique
from tests.helpers.flows import (
    candidate_files,
    codes,
    examiner_of,
    fill_required,
    make_category,
    return_candidate,
    stored_files,
    upload,
    uploaded,
)
from tests.helpers.service import Service

ROUNDS = 20
ROUND_TIMEOUT = 60  # seconds; a hung round fails instead of hanging the suite


async def partial_files(service: Service) -> list[str]:
    """Temporary names a write left behind (the local store's; S3 writes whole objects)."""
    return [key for key in await stored_files(service) if key.endswith(".partial")]


async def rows_of(
    service: Service, candidate_id: int, category_id: int | None = None
) -> list[Attachment]:
    with service.db():
        query = Attachment.filter(candidate_id=candidate_id)
        if category_id is not None:
            query = query.filter(category_id=category_id)
        return await query.order_by("slot")


async def no_orphans(service: Service, candidate_id: int) -> None:
    """The candidate's files in the store are exactly the ones its rows name."""
    named: set[str] = set()
    for row in await rows_of(service, candidate_id):
        named.update((row.storage_key, row.thumbnail_key))
    assert await candidate_files(service, candidate_id) == named
    assert await partial_files(service) == []


def tabs(client: GraphQLClient, count: int) -> list[GraphQLClient]:
    """Separate connections with the same sign-in, like several open tabs or retries."""
    return [client.with_token(client.token) for _ in range(count)]


async def close(clients: list[GraphQLClient]) -> None:
    for client in clients:
        await client.aclose()


async def race_for_slots(
    service: Service, racer: SignedInCandidate, category: MaterialCategory, before: int, racers: int
) -> None:
    """One round: `before` pictures first, then `racers` uploads at once; then clear the category."""
    client, row = racer.client, racer.row
    for _ in range(before):
        await uploaded(client, category.id)
    clients = tabs(client, racers)
    results = await asyncio.wait_for(
        asyncio.gather(*(upload(c, category.id) for c in clients)), ROUND_TIMEOUT
    )
    await close(clients)

    free = category.max_count - before
    outcome = Counter("WON" if not r["errors"] else "+".join(codes(r)) for r in results)
    assert outcome == Counter(
        {"WON": min(free, racers), "CATEGORY_FULL": racers - min(free, racers)}
    )
    for result in results:
        assert (result["attachment"] is None) == bool(result["errors"])
    rows = await rows_of(service, row.id, category.id)
    assert len(rows) == category.max_count  # never above maxCount
    assert [r.slot for r in rows] == list(range(category.max_count))
    winners = {r["attachment"]["id"] for r in results if r["attachment"]}
    assert winners <= {str(r.id) for r in rows}
    await no_orphans(service, row.id)

    # free the category again through the API, for the next round
    for stored in rows:
        deleted = (await client.execute(op.DELETE, {"id": str(stored.id)})).payload(
            "deleteAttachment"
        )
        assert deleted["errors"] == []
    assert await rows_of(service, row.id, category.id) == []
    await no_orphans(service, row.id)


async def racing_candidate(service: Service) -> SignedInCandidate:
    row = await make_candidate(service)
    return SignedInCandidate(await signed_in(service, row.username), row)


@pytest.mark.parametrize("racers", [2, 3, 5])
async def test_uploads_racing_for_the_last_free_slot(
    service: Service, categories: dict[str, MaterialCategory], racers: int
) -> None:
    racer = await racing_candidate(service)
    id_card = categories["ID"]  # two slots: one is taken first, the racers fight for the other
    for _ in range(ROUNDS if racers == 2 else ROUNDS // 2):
        await race_for_slots(service, racer, id_card, before=1, racers=racers)
    await racer.client.aclose()


async def test_uploads_racing_into_an_empty_category(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    racer = await racing_candidate(service)
    for _ in range(ROUNDS // 4):
        await race_for_slots(service, racer, categories["ID"], before=0, racers=5)
    for _ in range(ROUNDS // 4):
        await race_for_slots(service, racer, categories["EDU"], before=0, racers=3)
    await racer.client.aclose()


# ---- uploads racing a submit ---------------------------------------------------------------------------

# Each candidate runs a few rounds: the first from DRAFT, the rest after a return (which unlocks
# everything again). Signing in is deliberately slow (argon2), so candidates are reused.
ROUNDS_PER_CANDIDATE = 5
# How long the submit waits after the uploads start: from "submit first" to "uploads well under way".
STAGGERS = (0.0, 0.01, 0.03, 0.06, 0.1, 0.2)


async def submit_after(client: GraphQLClient, delay: float) -> dict[str, Any]:
    await asyncio.sleep(delay)  # the race's stagger (see STAGGERS), not a wait for a state
    return (await client.execute(op.SUBMIT)).payload("submitForReview")


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def nothing_after_the_lock(service: Service, candidate_id: int) -> datetime:
    """For a SUBMITTED candidate: no picture after submittedAt, every upload logged before it."""
    with service.db():
        candidate = await Candidate.get(id=candidate_id)
        assert candidate.status == "SUBMITTED" and candidate.submitted_at is not None
        assert not await Attachment.filter(
            candidate_id=candidate_id, uploaded_at__gt=candidate.submitted_at
        ).exists()
        last_submit = (
            await AuditEntry.filter(candidate_id=candidate_id, action=AuditAction.SUBMIT)
            .order_by("-id")
            .first()
        )
        last_upload = (
            await AuditEntry.filter(candidate_id=candidate_id, action=AuditAction.UPLOAD)
            .order_by("-id")
            .first()
        )
    assert last_submit is not None and last_upload is not None
    assert last_upload.id < last_submit.id
    return candidate.submitted_at


async def delete_all(
    service: Service, client: GraphQLClient, candidate_id: int, category_id: int
) -> None:
    for stored in await rows_of(service, candidate_id, category_id):
        deleted = (await client.execute(op.DELETE, {"id": str(stored.id)})).payload(
            "deleteAttachment"
        )
        assert deleted["errors"] == []


async def test_uploads_racing_a_submit(
    service: Service, categories: dict[str, MaterialCategory], tmp_path: Path
) -> None:
    region = unique("考区")
    extra = await make_category(service, tmp_path, region, required=False, maxCount=5)
    examiner = await examiner_of(service, region=region, site="一号考点")
    seen: Counter[str] = Counter()
    client: GraphQLClient | None = None
    row: Candidate | None = None
    for round_ in range(ROUNDS):
        if round_ % ROUNDS_PER_CANDIDATE == 0:
            if client is not None:
                await client.aclose()
            row = await make_candidate(service, region=region, site="一号考点")
            client = await signed_in(service, row.username)
            await fill_required(client)
        else:
            assert client is not None and row is not None
            await return_candidate(examiner, row.id, None)
            await delete_all(service, client, row.id, extra.id)
        assert client is not None and row is not None
        racers = tabs(client, 3)
        stagger = STAGGERS[round_ % len(STAGGERS)]
        *uploads, submitted = await asyncio.wait_for(
            asyncio.gather(*(upload(c, extra.id) for c in racers), submit_after(client, stagger)),
            ROUND_TIMEOUT,
        )
        await close(racers)

        assert submitted["errors"] == [], submitted["errors"]
        candidate = submitted["candidate"]
        assert candidate["status"] == "SUBMITTED" and candidate["locked"] is True
        locked_at = moment(candidate["submittedAt"])
        in_submission = {a["id"]: a for m in candidate["materials"] for a in m["attachments"]}
        landed = 0
        for result in uploads:
            if result["errors"]:
                assert codes(result) == ["LOCKED"], result["errors"]
                assert result["attachment"] is None
                seen["LOCKED"] += 1
            else:
                picture = result["attachment"]
                assert moment(picture["uploadedAt"]) <= locked_at
                assert picture["id"] in in_submission  # part of what was submitted
                assert in_submission[picture["id"]]["locked"] is True
                landed += 1
                seen["BEFORE_LOCK"] += 1
        assert await nothing_after_the_lock(service, row.id) == locked_at
        assert len(await rows_of(service, row.id, extra.id)) == landed
        await no_orphans(service, row.id)
    assert client is not None
    await close([client, examiner])
    assert sum(seen.values()) == 3 * ROUNDS
    print(f"uploads racing a submit, {ROUNDS} rounds: {dict(seen)}")


async def test_last_required_picture_racing_a_submit(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    """Submit either sees the picture (and locks it in) or refuses for the missing material."""
    probation = categories["PROBATION"]
    examiner = await examiner_of(service)
    seen: Counter[str] = Counter()
    client: GraphQLClient | None = None
    row: Candidate | None = None
    for round_ in range(ROUNDS):
        if round_ % ROUNDS_PER_CANDIDATE == 0:
            if client is not None:
                await client.aclose()
            row = await make_candidate(service)
            client = await signed_in(service, row.username)
            for code in ("ID", "ID", "EDU"):
                await uploaded(client, categories[code].id)
        assert client is not None and row is not None
        with service.db():
            status_before = (await Candidate.get(id=row.id)).status
        racer = client.with_token(client.token)
        stagger = STAGGERS[round_ % len(STAGGERS)]
        last, submitted = await asyncio.wait_for(
            asyncio.gather(upload(racer, probation.id), submit_after(client, stagger)),
            ROUND_TIMEOUT,
        )
        await racer.aclose()

        if submitted["errors"]:
            # submit came first: it saw the category empty and locked nothing
            assert [(e["code"], e["field"]) for e in submitted["errors"]] == [
                ("REQUIRED_MATERIAL_MISSING", f"materials.{probation.id}")
            ]
            assert last["errors"] == []  # nothing was locked, so the upload landed
            with service.db():
                assert (await Candidate.get(id=row.id)).status == status_before
            seen["SUBMIT_REFUSED"] += 1
        else:
            # the upload came first (it cannot be LOCKED: submit needed it to succeed)
            assert last["errors"] == []
            locked_at = moment(submitted["candidate"]["submittedAt"])
            assert moment(last["attachment"]["uploadedAt"]) <= locked_at
            assert await nothing_after_the_lock(service, row.id) == locked_at
            seen["SUBMITTED"] += 1
            await return_candidate(examiner, row.id, [str(probation.id)])
        await no_orphans(service, row.id)
        await delete_all(service, client, row.id, probation.id)  # ready for the next round
    assert client is not None
    await close([client, examiner])
    assert sum(seen.values()) == ROUNDS
    print(f"last required picture racing a submit, {ROUNDS} rounds: {dict(seen)}")

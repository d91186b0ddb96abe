"""resolvers/privacy.py: the retention purge, on the service's own engines (both stacks)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from core.clock import utcnow
from models import (
    Attachment,
    AuditEntry,
    Candidate,
    OutboxMessage,
    RetentionPurge,
    ReviewMessage,
)
from models.enums import ReviewStatus
from models.notifications import OutboxKind, OutboxStatus
from resolvers.privacy import PurgedCandidate, purge_decided
from tests.helpers import operations as op
from tests.helpers.accounts import (
    SignedInCandidate,
    SignedInStaff,
    candidate_signed_in,
    staff_signed_in,
)
from tests.helpers.factories import load_demo_categories
from tests.helpers.flows import candidate_files, fill_required, submit
from tests.helpers.service import Service, start_service, test_settings


@dataclass
class Decided:
    candidate: SignedInCandidate
    decided_at: datetime


async def decided(service: Service, examiner: SignedInStaff, approve: bool = True) -> Decided:
    """A candidate with every required picture, submitted, then approved (or rejected)."""
    candidate = await candidate_signed_in(service)
    await fill_required(candidate.client)
    await submit(candidate.client)
    if approve:
        answer = await examiner.client.execute(op.APPROVE, {"id": candidate.id})
        assert answer.payload("approveCandidate")["errors"] == []
    else:
        answer = await examiner.client.execute(op.REJECT, {"id": candidate.id, "reason": "材料不符"})
        assert answer.payload("rejectCandidate")["errors"] == []
    with service.db():
        row = await Candidate.get(id=candidate.row.id)
    assert row.status in (ReviewStatus.APPROVED, ReviewStatus.REJECTED)
    return Decided(candidate, row.updated_at)


async def purge(service: Service, cutoff: datetime, dry_run: bool = False) -> list[PurgedCandidate]:
    with service.db():
        return [p async for p in purge_decided(service.services.store, cutoff, dry_run)]


async def snapshot(service: Service, candidate_id: int) -> dict[str, Any]:
    """What the purge may change, and what it must keep."""
    with service.db():
        row = await Candidate.get(id=candidate_id)
        return {
            "status": row.status,
            "phone": row.phone,
            "address": row.address,
            "attachments": await Attachment.filter(candidate_id=candidate_id).count(),
            "files": await candidate_files(service, candidate_id),
            "audit": await AuditEntry.filter(candidate_id=candidate_id).count(),
            "messages": await ReviewMessage.filter(candidate_id=candidate_id).count(),
        }


async def sms_delivered(service: Service, candidate_id: int) -> None:
    """As the sender leaves the candidate's SMS rows once sent (it waits out a merge window first)."""
    with service.db():
        updated = await OutboxMessage.filter(candidate_id=candidate_id, kind=OutboxKind.SMS).update(
            status=OutboxStatus.SENT, sent_at=utcnow(), lease_until=None
        )
    assert updated


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    """A service of the test's own: the purge takes every decided candidate it finds."""
    running = await start_service(test_settings(tmp_path))
    (tmp_path / "examples").mkdir()
    await load_demo_categories(running, tmp_path / "examples")
    yield running
    await running.stop()


@pytest.fixture
async def examiner_client(service: Service) -> AsyncIterator[SignedInStaff]:
    signed = await staff_signed_in(service)
    yield signed
    await signed.client.aclose()


async def test_purge_removes_pictures_phone_and_address_and_keeps_the_rest(
    service: Service, examiner_client: SignedInStaff
) -> None:
    early = await decided(service, examiner_client)
    cutoff = datetime.now(early.decided_at.tzinfo)
    late = await decided(service, examiner_client, approve=False)  # decided after the cutoff
    waiting = await candidate_signed_in(service)
    await fill_required(waiting.client)
    await submit(waiting.client)
    await sms_delivered(service, early.candidate.row.id)
    before = {c.row.id: await snapshot(service, c.row.id) for c in (early.candidate, late.candidate, waiting)}

    dry = await purge(service, cutoff, dry_run=True)
    assert [p.admission_no for p in dry] == [early.candidate.row.admission_no]
    assert await snapshot(service, early.candidate.row.id) == before[early.candidate.row.id]

    [done] = await purge(service, cutoff)
    assert done == dry[0]
    assert done.pictures == {"ID": 2, "EDU": 1, "PROBATION": 1}
    assert done.phone_removed and done.address_removed and done.status == "APPROVED"
    kept = before[early.candidate.row.id]
    assert await snapshot(service, early.candidate.row.id) == {
        **kept, "phone": None, "address": None, "attachments": 0, "files": set(),
    }
    with service.db():
        record = await RetentionPurge.get(candidate_id=early.candidate.row.id)
        assert record.pictures == done.pictures and record.picture_count == 4
        assert record.byte_count == done.picture_bytes > 0
        # The approval SMS named the phone: its row no longer does.
        targets = await OutboxMessage.filter(candidate_id=early.candidate.row.id).values_list(
            "target", flat=True
        )
        assert targets and set(targets) == {""}
    for other in (late.candidate, waiting):
        assert await snapshot(service, other.row.id) == before[other.row.id]
    # Examiners still see the decision and its history.
    seen = await examiner_client.client.execute(op.CANDIDATE, {"id": early.candidate.id})
    assert seen.data is not None
    assert seen.data["candidate"]["status"] == "APPROVED"
    assert all(m["attachments"] == [] for m in seen.data["candidate"]["materials"])
    assert await purge(service, cutoff) == []  # done once, for good


async def test_a_rerun_finishes_what_a_crash_left(
    service: Service, examiner_client: SignedInStaff
) -> None:
    finished = await decided(service, examiner_client)
    assert len(await purge(service, datetime.now(finished.decided_at.tzinfo))) == 1
    halfway = await decided(service, examiner_client)
    # A run that died after removing the bytes and before its transaction committed.
    store = service.services.store
    for key in await candidate_files(service, halfway.candidate.row.id):
        await store.delete(key)
    assert (await snapshot(service, halfway.candidate.row.id))["attachments"] == 4

    again = await purge(service, datetime.now(halfway.decided_at.tzinfo))
    assert [p.admission_no for p in again] == [halfway.candidate.row.admission_no]
    assert again[0].picture_count == 4
    after = await snapshot(service, halfway.candidate.row.id)
    assert (after["attachments"], after["files"], after["phone"]) == (0, set(), None)
    with service.db():
        for row in (finished, halfway):
            assert await RetentionPurge.filter(candidate_id=row.candidate.row.id).count() == 1

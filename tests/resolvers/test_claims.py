"""resolvers/claims.py: review claims, claimNext under contention, and decisions that respect them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.clock import local_text
from core.settings import Settings
from models import Attachment, AuditEntry, Candidate, MaterialCategory, ReviewMessage
from models.enums import AttachmentVerdict, ReviewStatus, Role
from resolvers.events import queue_topic
from resolvers.locking import candidate_for_update
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInStaff, signed_in, staff_signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate, unique
from tests.helpers.flows import codes, uploaded
from tests.helpers.service import Service
from tests.helpers.waiting import subscribed

BEIJING = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@dataclass
class Ward:
    """A unique region and site with examiners, where candidates wait in a known order."""

    service: Service
    categories: dict[str, MaterialCategory]
    region: str
    site: str
    examiners: list[SignedInStaff]
    opened: list[GraphQLClient] = field(default_factory=list)
    _minutes: int = 0

    async def waiting(self, count: int = 1, site: str | None = None) -> list[Candidate]:
        """SUBMITTED candidates, each submitted a minute after the one before."""
        made = []
        for _ in range(count):
            self._minutes += 1
            moment = START + timedelta(minutes=self._minutes)
            made.append(
                await make_candidate(
                    self.service, region=self.region, site=site or self.site,
                    status=ReviewStatus.SUBMITTED, submitted_at=moment, queue_at=moment,
                )
            )
        return made

    async def staff(self, site: str | None = "", role: Role = Role.EXAMINER) -> SignedInStaff:
        signed = await staff_signed_in(
            self.service, self.region, self.site if site == "" else site, role
        )
        self.opened.append(signed.client)
        return signed

    async def row(self, candidate: Candidate) -> Candidate:
        with self.service.db():
            return await Candidate.get(id=candidate.id)

    async def expire_claim(self, candidate: Candidate) -> None:
        with self.service.db():
            await Candidate.filter(id=candidate.id).update(
                claim_expires_at=datetime.now(UTC) - timedelta(seconds=1)
            )


@pytest.fixture
async def ward(service: Service, categories: dict[str, MaterialCategory]) -> AsyncIterator[Ward]:
    region, site = unique("认领区"), unique("考点")
    made = Ward(service, categories, region, site, [])
    made.examiners = [await made.staff(), await made.staff()]
    yield made
    for client in made.opened:
        await client.aclose()


async def claim(client: GraphQLClient, candidate: Candidate | str) -> dict[str, Any]:
    pk = candidate if isinstance(candidate, str) else str(candidate.id)
    return (await client.execute(op.CLAIM, {"id": pk})).payload("claimCandidate")


async def claim_next(client: GraphQLClient, site: str | None = None) -> dict[str, Any]:
    payload = (await client.execute(op.CLAIM_NEXT, {"site": site})).payload("claimNext")
    assert payload["errors"] == [], payload
    return payload


async def release(client: GraphQLClient, candidate: Candidate) -> dict[str, Any]:
    return (await client.execute(op.RELEASE, {"id": str(candidate.id)})).payload("releaseCandidate")


async def claim_seen_by(client: GraphQLClient, candidate: Candidate) -> dict[str, Any] | None:
    result = await client.execute(
        f"query($id: ID!) {{ candidate(id: $id) {{ {op.CLAIM_FIELDS} }} }}", {"id": str(candidate.id)}
    )
    assert not result.errors, result.errors
    return result.data["candidate"]["claim"]  # type: ignore[index]


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_claim_next_takes_the_oldest_waiting_and_one_more_while_holding(ward: Ward) -> None:
    first, second, third = await ward.waiting(3)
    await make_candidate(ward.service, region=ward.region, site=ward.site)  # DRAFT: never claimed
    await ward.waiting(1, site=unique("别的考点"))  # another site: out of scope
    a, b = ward.examiners

    took = (await claim_next(a.client))["candidate"]
    assert took["id"] == str(first.id) and took["status"] == "SUBMITTED"
    before = datetime.now(UTC)
    assert took["claim"]["mine"] is True and took["claim"]["examinerName"] == a.row.name
    lasts = moment(took["claim"]["expiresAt"]) - moment(took["claim"]["claimedAt"])
    assert lasts == timedelta(minutes=15)
    assert moment(took["claim"]["expiresAt"]) > before + timedelta(minutes=14)

    # Holding one, the next press claims one more; another examiner gets the third.
    assert (await claim_next(a.client))["candidate"]["id"] == str(second.id)
    assert (await claim_next(b.client))["candidate"]["id"] == str(third.id)
    assert (await claim_next(a.client))["candidate"] is None
    assert (await claim_next(b.client))["candidate"] is None

    seen = await claim_seen_by(b.client, first)
    assert seen is not None and seen["mine"] is False and seen["examinerName"] == a.row.name
    stored = await ward.row(first)
    assert stored.claim_staff_id == a.row.id


async def test_claim_next_of_one_site(ward: Ward) -> None:
    other_site = unique("考点")
    [there] = await ward.waiting(1, site=other_site)
    [here] = await ward.waiting(1)
    regional = await ward.staff(site=None)
    site_examiner = ward.examiners[0]

    # A region's examiner asks for one site; the oldest of the region waits elsewhere.
    assert (await claim_next(regional.client, ward.site))["candidate"]["id"] == str(here.id)
    # A site outside the caller's scope holds nobody for them.
    assert (await claim_next(site_examiner.client, other_site))["candidate"] is None
    assert (await claim_next(regional.client))["candidate"]["id"] == str(there.id)


async def test_claim_candidate_renews_and_refuses_anyone_else(ward: Ward) -> None:
    [waiting] = await ward.waiting(1)
    a, b = ward.examiners
    admin = await ward.staff(site=None, role=Role.ADMIN)

    first = await claim(a.client, waiting)
    assert first["errors"] == []
    with ward.service.db():
        # Age the claim a little, so the renewal visibly moves it.
        await Candidate.filter(id=waiting.id).update(
            claimed_at=datetime.now(UTC) - timedelta(minutes=5),
            claim_expires_at=datetime.now(UTC) + timedelta(minutes=10),
        )
    aged = await ward.row(waiting)
    renewed = (await claim(a.client, waiting))["candidate"]["claim"]
    assert moment(renewed["claimedAt"]) == aged.claimed_at  # still the same claim
    assert moment(renewed["expiresAt"]) > aged.claim_expires_at + timedelta(minutes=4)  # type: ignore[operator]

    held = await ward.row(waiting)
    for other in (b, admin):
        refused = await claim(other.client, waiting)
        assert refused["candidate"] is None and codes(refused) == ["CLAIMED_BY_OTHER"]
        message = refused["errors"][0]["message"]
        assert a.row.name in message
        assert local_text(held.claim_expires_at, BEIJING) in message  # type: ignore[arg-type]
        assert refused["errors"][0]["field"] == "candidateId"
    assert (await ward.row(waiting)).claim_staff_id == a.row.id


async def test_claim_candidate_refusals(ward: Ward) -> None:
    examiner = ward.examiners[0]
    [elsewhere] = await ward.waiting(1, site=unique("考点"))
    draft = await make_candidate(ward.service, region=ward.region, site=ward.site)

    for target, code in ((elsewhere, "NOT_FOUND"), ("999999999", "NOT_FOUND"), ("x", "NOT_FOUND"), (draft, "INVALID_STATE")):
        refused = await claim(examiner.client, target)
        assert refused["candidate"] is None and codes(refused) == [code], target
        assert not refused["errors"][0]["message"].isascii()
    assert "已提交" in (await claim(examiner.client, draft))["errors"][0]["message"]
    with ward.service.db():
        for row in (elsewhere, draft):
            stored = await Candidate.get(id=row.id)
            assert stored.claim_staff_id is None


async def test_a_candidate_may_not_claim_and_never_sees_claims(ward: Ward) -> None:
    [waiting] = await ward.waiting(1)
    own = await signed_in(ward.service, waiting.username)
    ward.opened.append(own)
    for document, variables in (
        (op.CLAIM, {"id": str(waiting.id)}),
        (op.CLAIM_NEXT, {"site": None}),
        (op.RELEASE, {"id": str(waiting.id)}),
    ):
        result = await own.execute(document, variables)
        assert result.error_codes == ["FORBIDDEN"] and result.data is None
    assert (await claim(ward.examiners[0].client, waiting))["errors"] == []
    result = await own.execute(f"query {{ me {{ id {op.CLAIM_FIELDS} }} }}")
    assert result.errors == [] and result.data == {"me": {"id": str(waiting.id), "claim": None}}


async def test_an_expired_claim_is_no_claim(ward: Ward) -> None:
    first, second, third = await ward.waiting(3)
    a, b = ward.examiners
    for candidate in (first, second, third):
        assert (await claim(a.client, candidate))["errors"] == []
        await ward.expire_claim(candidate)

    assert await claim_seen_by(a.client, first) is None
    assert await claim_seen_by(b.client, first) is None
    # claimNext hands out the lapsed ones again, oldest first; claimCandidate takes one over.
    assert (await claim_next(b.client))["candidate"]["id"] == str(first.id)
    taken = await claim(b.client, second)
    assert taken["errors"] == [] and taken["candidate"]["claim"]["mine"] is True
    # A decision by the one whose claim lapsed is an ordinary decision without a claim…
    await ward.expire_claim(second)
    approved = (await a.client.execute(op.APPROVE, {"id": str(second.id)})).payload("approveCandidate")
    assert approved["errors"] == []
    # Releasing a lapsed claim, anyone's, is releasing nothing.
    released = await release(b.client, third)
    assert released["errors"] == [] and released["candidate"]["claim"] is None
    assert (await ward.row(third)).claim_staff_id is None


@dataclass(frozen=True)
class Snapshot:
    status: ReviewStatus
    verdicts: list[AttachmentVerdict]
    audit: int
    messages: int


async def snapshot(service: Service, candidate: Candidate) -> Snapshot:
    with service.db():
        row = await Candidate.get(id=candidate.id)
        verdicts = await Attachment.filter(candidate_id=candidate.id).order_by("id").values_list(
            "verdict", flat=True
        )
        return Snapshot(
            status=row.status,
            verdicts=[AttachmentVerdict(str(v)) for v in verdicts],
            audit=await AuditEntry.filter(candidate_id=candidate.id).count(),
            messages=await ReviewMessage.filter(candidate_id=candidate.id).count(),
        )


async def picture_of(ward: Ward, candidate: Candidate) -> str:
    """An EDU picture uploaded by the candidate while DRAFT; the candidate then waits again."""
    own = await signed_in(ward.service, candidate.username)
    ward.opened.append(own)
    with ward.service.db():
        await Candidate.filter(id=candidate.id).update(status=ReviewStatus.DRAFT)
    picture = await uploaded(own, ward.categories["EDU"].id)
    with ward.service.db():
        await Candidate.filter(id=candidate.id).update(status=ReviewStatus.SUBMITTED)
    return str(picture["id"])


DECISIONS = {
    "returnForCorrection": (op.RETURN, {"message": "请重新上传。"}),
    "approveCandidate": (op.APPROVE, {}),
    "rejectCandidate": (op.REJECT, {"reason": "材料不符合要求。"}),
}


async def test_decisions_while_another_examiner_holds_the_claim_change_nothing(ward: Ward) -> None:
    [waiting] = await ward.waiting(1)
    picture = await picture_of(ward, waiting)
    a, b = ward.examiners
    assert (await claim(a.client, waiting))["errors"] == []
    held = await ward.row(waiting)
    before = await snapshot(ward.service, waiting)

    for name, (document, extra) in DECISIONS.items():
        payload = (await b.client.execute(document, {"id": str(waiting.id), **extra})).payload(name)
        assert payload["candidate"] is None and codes(payload) == ["CLAIMED_BY_OTHER"], name
        assert a.row.name in payload["errors"][0]["message"]
        assert local_text(held.claim_expires_at, BEIJING) in payload["errors"][0]["message"]  # type: ignore[arg-type]
    verdict = (
        await b.client.execute(op.VERDICT, {"id": picture, "verdict": "NEEDS_REPLACEMENT", "note": "模糊"})
    ).payload("setAttachmentVerdict")
    assert codes(verdict) == ["CLAIMED_BY_OTHER"] and verdict["errors"][0]["field"] == "attachmentId"

    assert await snapshot(ward.service, waiting) == before
    after = await ward.row(waiting)
    assert after.claim_staff_id == a.row.id and after.claim_expires_at == held.claim_expires_at


async def test_the_holders_verdict_renews_the_claim_and_the_decision_ends_it(ward: Ward) -> None:
    [waiting] = await ward.waiting(1)
    picture = await picture_of(ward, waiting)
    a, b = ward.examiners
    assert (await claim(a.client, waiting))["errors"] == []
    with ward.service.db():
        await Candidate.filter(id=waiting.id).update(
            claim_expires_at=datetime.now(UTC) + timedelta(minutes=2)
        )
    verdict = (await a.client.execute(op.VERDICT, {"id": picture, "verdict": "ACCEPTED"})).payload(
        "setAttachmentVerdict"
    )
    assert verdict["errors"] == []
    renewed = await ward.row(waiting)
    assert renewed.claim_staff_id == a.row.id
    assert renewed.claim_expires_at > datetime.now(UTC) + timedelta(minutes=14)  # type: ignore[operator]

    approved = (await a.client.execute(op.APPROVE, {"id": str(waiting.id)})).payload("approveCandidate")
    assert approved["errors"] == [] and approved["candidate"]["status"] == "APPROVED"
    ended = await ward.row(waiting)
    assert (ended.claim_staff_id, ended.claimed_at, ended.claim_expires_at) == (None, None, None)
    assert await claim_seen_by(b.client, waiting) is None


@pytest.mark.parametrize("decision", sorted(DECISIONS))
async def test_deciding_without_a_claim_is_allowed(ward: Ward, decision: str) -> None:
    [waiting] = await ward.waiting(1)
    document, extra = DECISIONS[decision]
    payload = (await ward.examiners[1].client.execute(document, {"id": str(waiting.id), **extra})).payload(decision)
    assert payload["errors"] == []
    assert (await ward.row(waiting)).status != ReviewStatus.SUBMITTED


async def test_release(ward: Ward) -> None:
    first, second = await ward.waiting(2)
    a, b = ward.examiners
    admin = await ward.staff(site=None, role=Role.ADMIN)
    outsider = await ward.staff(site=unique("考点"))

    assert (await claim(a.client, first))["errors"] == []
    refused = await release(b.client, first)
    assert codes(refused) == ["CLAIMED_BY_OTHER"] and refused["candidate"] is None
    assert a.row.name in refused["errors"][0]["message"]
    assert codes(await release(outsider.client, first)) == ["NOT_FOUND"]
    assert (await ward.row(first)).claim_staff_id == a.row.id

    mine = await release(a.client, first)
    assert mine["errors"] == [] and mine["candidate"]["claim"] is None
    assert (await ward.row(first)).claim_staff_id is None
    # Released, the candidate is next in line again.
    assert (await claim_next(b.client))["candidate"]["id"] == str(first.id)
    by_admin = await release(admin.client, first)
    assert by_admin["errors"] == [] and by_admin["candidate"]["claim"] is None
    # Nothing held: releasing changes nothing and is no error.
    nothing = await release(b.client, second)
    assert nothing["errors"] == [] and nothing["candidate"]["claim"] is None


async def test_claims_and_releases_reach_every_open_queue(ward: Ward) -> None:
    [waiting] = await ward.waiting(1)
    a, b = ward.examiners
    document = (
        "subscription { queueEvents { status candidate { id status "
        + op.CLAIM_FIELDS
        + " } } }"
    )
    async with b.client.subscribe(document) as events:
        await subscribed(ward.service, queue_topic(ward.region))
        assert (await claim_next(a.client))["candidate"]["id"] == str(waiting.id)
        claimed = (await events.next())["data"]["queueEvents"]
        assert claimed["status"] == "SUBMITTED" and claimed["candidate"]["id"] == str(waiting.id)
        assert claimed["candidate"]["claim"]["examinerName"] == a.row.name
        assert claimed["candidate"]["claim"]["mine"] is False  # as b sees it

        assert (await release(a.client, waiting))["errors"] == []
        released = (await events.next())["data"]["queueEvents"]
        assert released["status"] == "SUBMITTED" and released["candidate"]["claim"] is None

        assert (await claim(a.client, waiting))["errors"] == []
        assert (await events.next())["data"]["queueEvents"]["candidate"]["claim"]["mine"] is False


async def test_twenty_concurrent_claim_next_from_four_examiners(ward: Ward) -> None:
    examiners = [*ward.examiners, await ward.staff(), await ward.staff()]
    # Each examiner presses 「下一位」 five times at once, on connections of their own.
    presses = [examiner.client.with_token(examiner.client.token) for examiner in examiners for _ in range(5)]
    ward.opened.extend(presses)

    for waiting_count in (15, 25):
        waiting = await ward.waiting(waiting_count)
        results = await asyncio.wait_for(asyncio.gather(*(claim_next(c) for c in presses)), 60)
        got = [r["candidate"]["id"] for r in results if r["candidate"] is not None]
        assert len(got) == len(set(got)), Counter(got).most_common(3)  # never one candidate twice
        expected = [str(c.id) for c in waiting[: len(presses)]]
        # Nobody got null while someone waited: the oldest ones are all claimed.
        assert sorted(got, key=int) == sorted(expected, key=int)
        assert sum(r["candidate"] is None for r in results) == max(0, len(presses) - waiting_count)
        with ward.service.db():
            holders = dict(
                await Candidate.filter(id__in=[c.id for c in waiting]).values_list("id", "claim_staff_id")
            )
        names = {str(e.row.id) for e in examiners}
        assert {str(holders[int(pk)]) for pk in got} <= names
        for result in results:
            if result["candidate"] is not None:
                assert result["candidate"]["claim"]["mine"] is True
        # clear the ward for the next round
        with ward.service.db():
            await Candidate.filter(id__in=[c.id for c in waiting]).update(status=ReviewStatus.APPROVED)


async def test_claim_next_waits_for_a_row_locked_for_another_reason(ward: Ward) -> None:
    """SKIP LOCKED would pass over the only waiting candidate while, say, a message is written."""
    [waiting] = await ward.waiting(1)
    examiner = ward.examiners[0]
    with ward.service.db():
        async with candidate_for_update(waiting.id):
            pressed = asyncio.create_task(claim_next(examiner.client))
            await asyncio.sleep(0.5)  # hold the row lock while claimNext runs into it
            assert not pressed.done()
        result = await asyncio.wait_for(pressed, 30)
    assert result["candidate"] is not None and result["candidate"]["id"] == str(waiting.id)


def test_claim_length_is_a_setting() -> None:
    assert Settings.from_env({"SECRET_KEY": "k"}).review_claim_minutes == 15
    assert Settings.from_env({"SECRET_KEY": "k", "REVIEW_CLAIM_MINUTES": "30"}).review_claim_minutes == 30

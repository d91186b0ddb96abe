"""resolvers/candidates.py, the staff side: reviewQueue, candidate and candidateByAdmissionNo."""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models import Candidate
from models.enums import ReviewStatus, Role
from tests.helpers import operations as op
from tests.helpers.accounts import candidate_signed_in, signed_in, staff_signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.flows import fill_required, return_candidate, submit
from tests.helpers.service import Service

BASE = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)
# Index → minutes after BASE; 6, 7 and 8 share one moment, so the id breaks the tie
# right at the first page boundary (pages of 7).
OFFSETS = [i if i < 6 else 6 if i <= 8 else i for i in range(25)]


@dataclass
class Queue:
    region: str
    site: str
    other_site: str
    submitted: list[Candidate]  # in the order the queue must show them
    other_site_submitted: list[Candidate]
    not_submitted: dict[ReviewStatus, Candidate]
    elsewhere: Candidate  # another region, same site name
    examiner: GraphQLClient
    other_examiner: GraphQLClient
    region_examiner: GraphQLClient
    admin: GraphQLClient
    everywhere_admin: GraphQLClient


@pytest.fixture(scope="module")
async def queue(service: Service) -> AsyncIterator[Queue]:
    region, site, other_site = unique("队列区"), unique("考点甲"), unique("考点乙")
    order = list(range(25))
    random.Random(7).shuffle(order)  # ids are not in submission order
    made: dict[int, Candidate] = {}
    for index in order:
        moment = BASE + timedelta(minutes=OFFSETS[index])
        made[index] = await make_candidate(
            service, region=region, site=site, name=f"排队考生{uuid.uuid4().hex[:10]}",
            status=ReviewStatus.SUBMITTED, submitted_at=moment, queue_at=moment,
        )
    submitted = sorted(made.values(), key=lambda c: (c.queue_at, c.id))
    other_site_submitted = []
    for minute in (3, 30):
        moment = BASE + timedelta(minutes=minute, seconds=30)
        other_site_submitted.append(
            await make_candidate(
                service, region=region, site=other_site,
                status=ReviewStatus.SUBMITTED, submitted_at=moment, queue_at=moment,
            )
        )
    not_submitted = {}
    for status in (ReviewStatus.DRAFT, ReviewStatus.RETURNED, ReviewStatus.APPROVED, ReviewStatus.REJECTED):
        moment = BASE - timedelta(days=1)  # older than every submission
        not_submitted[status] = await make_candidate(
            service, region=region, site=site, status=status,
            submitted_at=None if status == ReviewStatus.DRAFT else moment, queue_at=moment,
        )
    elsewhere = await make_candidate(
        service, region=unique("他区"), site=site,
        status=ReviewStatus.SUBMITTED, submitted_at=BASE, queue_at=BASE,
    )
    clients = {}
    for key, scope_region, scope_site, role in [
        ("examiner", region, site, Role.EXAMINER),
        ("other_examiner", region, other_site, Role.EXAMINER),
        ("region_examiner", region, None, Role.EXAMINER),
        ("admin", region, None, Role.ADMIN),
        ("everywhere_admin", "*", None, Role.ADMIN),
    ]:
        staff = await make_staff(service, region=scope_region, site=scope_site, role=role)
        clients[key] = await signed_in(service, staff.username)
    yield Queue(
        region, site, other_site, submitted, other_site_submitted, not_submitted, elsewhere,
        **clients,
    )
    for client in clients.values():
        await client.aclose()


async def page(client: GraphQLClient, **variables: Any) -> dict[str, Any]:
    result = await client.execute(op.QUEUE, variables)
    assert result.errors == [], result.errors
    return result.payload("reviewQueue")


def ids(connection: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in connection["edges"]]


def row_ids(rows: list[Candidate]) -> list[str]:
    return [str(c.id) for c in rows]


async def test_default_is_submitted_oldest_first(queue: Queue) -> None:
    first = await page(queue.examiner, first=100)
    assert ids(first) == row_ids(queue.submitted)
    assert first["totalCount"] == 25
    assert first["pageInfo"]["hasNextPage"] is False
    assert all(edge["node"]["status"] == "SUBMITTED" for edge in first["edges"])
    moments = [datetime.fromisoformat(e["node"]["submittedAt"]) for e in first["edges"]]
    assert moments == sorted(moments)


async def test_default_page_size_is_twenty(queue: Queue) -> None:
    first = await page(queue.examiner)
    assert len(first["edges"]) == 20 and first["pageInfo"]["hasNextPage"] is True
    assert first["totalCount"] == 25


async def test_cursor_pagination_walks_every_candidate_once(queue: Queue) -> None:
    seen: list[str] = []
    sizes: list[int] = []
    after: str | None = None
    for _ in range(10):  # 25 candidates in pages of 7: four pages, bounded
        connection = await page(queue.examiner, first=7, after=after)
        assert connection["totalCount"] == 25
        edges = connection["edges"]
        sizes.append(len(edges))
        seen.extend(ids(connection))
        info = connection["pageInfo"]
        assert info["endCursor"] == (edges[-1]["cursor"] if edges else None)
        assert len({e["cursor"] for e in edges}) == len(edges)
        if not info["hasNextPage"]:
            break
        after = info["endCursor"]
    assert sizes == [7, 7, 7, 4]
    assert seen == row_ids(queue.submitted)  # no duplicates, no gaps, in order


async def test_cursor_of_any_edge_continues_right_after_it(queue: Queue) -> None:
    everything = await page(queue.examiner, first=100)
    edges = everything["edges"]
    for index in (0, 5, 6, 7, 8, 23):
        rest = await page(queue.examiner, first=100, after=edges[index]["cursor"])
        assert ids(rest) == ids(everything)[index + 1 :]
        assert rest["totalCount"] == 25  # totalCount counts the whole filtered queue
    last = await page(queue.examiner, first=5, after=edges[-1]["cursor"])
    assert last["edges"] == []
    assert last["pageInfo"] == {"hasNextPage": False, "endCursor": None}


async def test_exactly_full_page_has_no_next_page(queue: Queue) -> None:
    connection = await page(queue.examiner, first=25)
    assert len(connection["edges"]) == 25 and connection["pageInfo"]["hasNextPage"] is False
    connection = await page(queue.examiner, first=24)
    assert connection["pageInfo"]["hasNextPage"] is True


async def test_status_filter(queue: Queue) -> None:
    wanted = [ReviewStatus.RETURNED, ReviewStatus.APPROVED]
    connection = await page(queue.examiner, status=[s.value for s in wanted], first=50)
    assert ids(connection) == row_ids([queue.not_submitted[s] for s in wanted])
    assert {e["node"]["status"] for e in connection["edges"]} == {"RETURNED", "APPROVED"}
    drafts = await page(queue.examiner, status=["DRAFT"], first=50)
    assert ids(drafts) == [str(queue.not_submitted[ReviewStatus.DRAFT].id)]
    both = await page(queue.examiner, status=["REJECTED", "SUBMITTED"], first=50)
    assert both["totalCount"] == 26
    assert ids(both)[0] == str(queue.not_submitted[ReviewStatus.REJECTED].id)


async def test_examiner_of_a_site_sees_only_that_site(queue: Queue) -> None:
    other = await page(queue.other_examiner, first=50)
    assert ids(other) == row_ids(queue.other_site_submitted)
    # Asking for another site does not widen the scope.
    asked = await page(queue.examiner, site=queue.other_site, first=50)
    assert asked["edges"] == [] and asked["totalCount"] == 0


@pytest.mark.parametrize("who", ["region_examiner", "admin"])
async def test_region_scope_sees_the_whole_region(queue: Queue, who: str) -> None:
    client = getattr(queue, who)
    everything = await page(client, first=100)
    expected = sorted(
        queue.submitted + queue.other_site_submitted, key=lambda c: (c.queue_at, c.id)
    )
    # Other regions' candidates sharing the site name stay out.
    assert ids(everything) == row_ids(expected)
    assert everything["totalCount"] == 27

    one_site = await page(client, site=queue.other_site, first=100)
    assert ids(one_site) == row_ids(queue.other_site_submitted)
    assert {e["node"]["site"] for e in one_site["edges"]} == {queue.other_site}


async def test_admin_of_every_region_sees_other_regions(queue: Queue) -> None:
    found = await page(queue.everywhere_admin, search=queue.elsewhere.admission_no)
    assert ids(found) == [str(queue.elsewhere.id)]
    mine = await page(queue.admin, search=queue.elsewhere.admission_no)
    assert mine["edges"] == [] and mine["totalCount"] == 0


@pytest.mark.parametrize("field", ["name", "admission_no", "username"])
async def test_search_by_substring(queue: Queue, field: str) -> None:
    target = queue.submitted[11]
    value: str = getattr(target, field)
    # Each value ends in random hex that no other field of any candidate holds.
    text = value[-8:-1]
    if field == "username":
        text = text.upper()  # case does not matter
    connection = await page(queue.examiner, search=text, first=50)
    assert str(target.id) in ids(connection)
    assert connection["totalCount"] == len(connection["edges"])
    assert len(connection["edges"]) == 1  # the unique suffix picks one candidate


async def test_search_is_trimmed_and_combines_with_scope(queue: Queue) -> None:
    target = queue.other_site_submitted[0]
    assert ids(await page(queue.other_examiner, search=f"  {target.admission_no} ")) == [
        str(target.id)
    ]
    assert (await page(queue.examiner, search=target.admission_no))["edges"] == []
    nothing = await page(queue.examiner, search="没有这个人")
    assert nothing == {"totalCount": 0, "pageInfo": {"hasNextPage": False, "endCursor": None}, "edges": []}
    blank = await page(queue.examiner, search="   ", first=100)
    assert blank["totalCount"] == 25


def _forged(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "variables",
    [
        {"after": "not a cursor!"},
        {"after": "bm90LWEtY3Vyc29y"},  # base64 of "not-a-cursor"
        {"after": ""},
        {"after": _forged("2026-04-01T08:00:00+00:00|99999999999999999999999")},
        {"after": _forged("2026-04-01T08:00:00|5")},
        {"after": _forged("2026-04-01T08:00:00+00:00|5|6")},
        {"first": 0},
        {"first": 101},
        {"first": -3},
    ],
    ids=[
        "garbage", "base64-garbage", "empty", "huge-id", "naive-time", "extra-part",
        "zero", "too-many", "negative",
    ],
)
async def test_bad_paging_arguments_are_graphql_errors(
    queue: Queue, variables: dict[str, Any]
) -> None:
    result = await queue.examiner.execute(op.QUEUE, variables)
    if variables == {"after": ""}:
        # An empty cursor means "from the start".
        assert result.errors == [] and result.payload("reviewQueue")["totalCount"] == 25
        return
    assert result.status_code == 200
    assert result.data is None
    assert len(result.errors) == 1
    message = result.errors[0]["message"]
    assert "服务器内部错误" not in message
    assert ("游标" in message) if "after" in variables else ("first" in message)
    assert result.error_codes == ["BAD_USER_INPUT"]


ADMISSION = "query($no: String!) { candidateByAdmissionNo(admissionNo: $no) { id name site } }"


async def test_candidate_by_admission_no_in_and_out_of_scope(queue: Queue) -> None:
    mine, theirs = queue.submitted[0], queue.other_site_submitted[0]

    async def lookup(client: GraphQLClient, number: str) -> Any:
        result = await client.execute(ADMISSION, {"no": number})
        assert result.errors == []
        return result.payload("candidateByAdmissionNo")

    assert await lookup(queue.examiner, mine.admission_no) == {
        "id": str(mine.id), "name": mine.name, "site": queue.site,
    }
    assert (await lookup(queue.examiner, f" {mine.admission_no} "))["id"] == str(mine.id)
    assert await lookup(queue.examiner, theirs.admission_no) is None
    assert await lookup(queue.examiner, "NO-SUCH-NUMBER") is None
    assert await lookup(queue.examiner, queue.elsewhere.admission_no) is None
    assert (await lookup(queue.admin, theirs.admission_no))["id"] == str(theirs.id)
    assert await lookup(queue.admin, queue.elsewhere.admission_no) is None
    # Drafts are found too: the lookup is for integrations, not only the queue.
    draft = queue.not_submitted[ReviewStatus.DRAFT]
    assert (await lookup(queue.examiner, draft.admission_no))["id"] == str(draft.id)


async def test_candidate_by_id_in_and_out_of_scope(queue: Queue) -> None:
    query = "query($id: ID!) { candidate(id: $id) { id status } }"

    async def lookup(client: GraphQLClient, candidate_id: str) -> Any:
        result = await client.execute(query, {"id": candidate_id})
        assert result.errors == []
        return result.payload("candidate")

    mine, theirs = queue.submitted[3], queue.other_site_submitted[1]
    assert await lookup(queue.examiner, str(mine.id)) == {"id": str(mine.id), "status": "SUBMITTED"}
    assert await lookup(queue.examiner, str(theirs.id)) is None
    for absent in ("987654321", "abc", "-1", "1" * 30):
        assert await lookup(queue.examiner, absent) is None
    assert (await lookup(queue.region_examiner, str(theirs.id)))["id"] == str(theirs.id)
    assert await lookup(queue.admin, str(queue.elsewhere.id)) is None
    assert (await lookup(queue.everywhere_admin, str(queue.elsewhere.id)))["id"] == str(
        queue.elsewhere.id
    )


# ---- queuePosition (resolvers/queue.py) -------------------------------------------------------


async def position_of(client: GraphQLClient, candidate_id: str | None = None) -> Any:
    if candidate_id is None:
        result = await client.execute(op.MY_QUEUE_POSITION)
        assert not result.errors and result.data is not None, result.errors
        return result.data["me"]["queuePosition"]
    result = await client.execute(op.CANDIDATE_QUEUE_POSITION, {"id": candidate_id})
    assert not result.errors and result.data is not None, result.errors
    return result.data["candidate"]["queuePosition"]


async def test_queue_position_of_three_candidates_of_one_site(
    service: Service, categories: dict[str, Any]
) -> None:
    region, site = unique("位次区"), unique("位次点")
    examiner = await staff_signed_in(service, region=region, site=site)
    waiting = [await candidate_signed_in(service, region=region, site=site) for _ in range(3)]
    elsewhere = await candidate_signed_in(service, region=region, site=unique("别处"))
    assert await position_of(waiting[0].client) is None  # DRAFT
    for candidate in [*waiting, elsewhere]:
        await fill_required(candidate.client)
        await submit(candidate.client)

    # No decision at this site yet: no pace, so no estimate.
    mine = [await position_of(c.client) for c in waiting]
    assert mine == [{"ahead": n, "estimatedReviewBy": None} for n in range(3)]
    assert [await position_of(examiner.client, c.id) for c in waiting] == mine
    assert await position_of(elsewhere.client) == {"ahead": 0, "estimatedReviewBy": None}

    # One decision in the last six hours: a pace of one per six hours.
    before = datetime.now(UTC)
    approved = (
        await examiner.client.execute(op.APPROVE, {"id": waiting[0].id, "message": None})
    ).payload("approveCandidate")
    assert approved["errors"] == []
    after = datetime.now(UTC)
    assert await position_of(waiting[0].client) is None  # decided
    for ahead, candidate in enumerate(waiting[1:]):
        found = await position_of(candidate.client)
        assert found["ahead"] == ahead
        estimate = datetime.fromisoformat(found["estimatedReviewBy"])
        wait = timedelta(hours=6) * (ahead + 1)
        assert before + wait <= estimate <= after + wait + timedelta(minutes=1)
        assert estimate.second == 0 and estimate.microsecond == 0  # promised to the minute
    # The other site keeps its own (empty) pace.
    assert await position_of(elsewhere.client) == {"ahead": 0, "estimatedReviewBy": None}

    # Returned: no longer waiting, so no position; those behind move up.
    await return_candidate(examiner.client, waiting[1].row.id, None)
    assert await position_of(waiting[1].client) is None
    assert (await position_of(waiting[2].client))["ahead"] == 0
    for client in (examiner.client, *(w.client for w in waiting), elsewhere.client):
        await client.aclose()

"""resolvers/messages.py: the candidate's 消息提醒 — listing, unread count, marking read."""

from __future__ import annotations

from typing import Any

from models import Candidate, MaterialCategory, ReviewMessage
from models.enums import MessageKind
from resolvers.locking import candidate_for_update
from resolvers.messages import post_message
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, SignedInStaff, signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate
from tests.helpers.flows import codes, fill_required, submit
from tests.helpers.service import Service

MESSAGES = """
query($first: Int) {
  me { unreadMessageCount messages(first: $first) { id kind body authorName createdAt readAt } }
}
"""


async def messages(client: GraphQLClient, first: int | None = None) -> dict[str, Any]:
    variables = {} if first is None else {"first": first}
    result = await client.execute(MESSAGES, variables)
    assert not result.errors, result.errors
    assert result.data is not None
    return result.data["me"]


async def mark(client: GraphQLClient, ids: list[str] | None) -> dict[str, Any]:
    return (await client.execute(op.MARK_READ, {"ids": ids})).payload("markMessagesRead")


async def with_messages(
    service: Service, candidate: SignedInCandidate, examiner: GraphQLClient, feedback: int
) -> list[str]:
    """Submit (one SYSTEM message) then `feedback` examiner messages; bodies oldest first."""
    await fill_required(candidate.client)
    await submit(candidate.client)
    bodies = []
    for number in range(1, feedback + 1):
        body = f"第 {number} 条反馈：请注意查看。"
        sent = (
            await examiner.execute(op.FEEDBACK, {"id": candidate.id, "body": body})
        ).payload("sendFeedback")
        assert sent["errors"] == []
        bodies.append(body)
    return bodies


async def read_at(service: Service, candidate_id: int) -> dict[str, bool]:
    with service.db():
        rows = await ReviewMessage.filter(candidate_id=candidate_id)
    return {str(r.id): r.read_at is not None for r in rows}


async def test_newest_first_with_first_argument(
    service: Service,
    categories: dict[str, MaterialCategory],
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
) -> None:
    bodies = await with_messages(service, candidate_client, examiner_client.client, feedback=3)
    everything = await messages(candidate_client.client)
    listed = everything["messages"]
    assert [m["body"] for m in listed[:3]] == bodies[::-1]
    assert listed[3]["kind"] == "SYSTEM" and listed[3]["authorName"] == "系统"
    assert [m["kind"] for m in listed[:3]] == ["FEEDBACK"] * 3
    assert listed[0]["authorName"] == examiner_client.row.name
    ids = [int(m["id"]) for m in listed]
    assert ids == sorted(ids, reverse=True) and len(ids) == 4
    created = [m["createdAt"] for m in listed]
    assert created == sorted(created, reverse=True)
    assert everything["unreadMessageCount"] == 4
    assert all(m["readAt"] is None for m in listed)

    assert [m["id"] for m in (await messages(candidate_client.client, first=2))["messages"]] == [
        m["id"] for m in listed[:2]
    ]
    assert (await messages(candidate_client.client, first=1))["messages"] == listed[:1]
    assert (await messages(candidate_client.client, first=0))["messages"] == []
    assert (await messages(candidate_client.client, first=-5))["messages"] == []
    assert (await messages(candidate_client.client, first=1000))["messages"] == listed


async def test_a_new_candidate_has_no_messages(candidate_client: SignedInCandidate) -> None:
    assert await messages(candidate_client.client) == {"unreadMessageCount": 0, "messages": []}
    assert await mark(candidate_client.client, None) == {"unreadMessageCount": 0, "errors": []}


async def test_mark_some_by_id_then_all(
    service: Service,
    categories: dict[str, MaterialCategory],
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
) -> None:
    row: Candidate = candidate_client.row
    await with_messages(service, candidate_client, examiner_client.client, feedback=3)
    listed = (await messages(candidate_client.client))["messages"]
    chosen = [listed[0]["id"], listed[2]["id"]]

    assert await mark(candidate_client.client, chosen) == {"unreadMessageCount": 2, "errors": []}
    state = await read_at(service, row.id)
    assert {i for i, read in state.items() if read} == set(chosen)
    after = await messages(candidate_client.client)
    assert after["unreadMessageCount"] == 2
    assert [m["readAt"] is not None for m in after["messages"]] == [True, False, True, False]

    # marking read ones again changes nothing, and an empty list marks nothing
    first_read_at = after["messages"][0]["readAt"]
    assert await mark(candidate_client.client, [chosen[0]]) == {"unreadMessageCount": 2, "errors": []}
    assert (await messages(candidate_client.client))["messages"][0]["readAt"] == first_read_at
    assert await mark(candidate_client.client, []) == {"unreadMessageCount": 2, "errors": []}
    assert sum((await read_at(service, row.id)).values()) == 2

    assert await mark(candidate_client.client, None) == {"unreadMessageCount": 0, "errors": []}
    assert all((await read_at(service, row.id)).values())
    assert (await messages(candidate_client.client))["unreadMessageCount"] == 0


async def test_another_candidates_message_is_not_found_and_nothing_is_marked(
    service: Service,
    categories: dict[str, MaterialCategory],
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
) -> None:
    row: Candidate = candidate_client.row
    await with_messages(service, candidate_client, examiner_client.client, feedback=1)
    own = [m["id"] for m in (await messages(candidate_client.client))["messages"]]

    other = await make_candidate(service)
    other_client = await signed_in(service, other.username)
    await with_messages(service, SignedInCandidate(other_client, other), examiner_client.client, feedback=1)
    theirs = [m["id"] for m in (await messages(other_client))["messages"]]

    for ids in ([theirs[0]], [own[0], theirs[0]], theirs):
        payload = await mark(candidate_client.client, ids)
        assert codes(payload) == ["NOT_FOUND"]
        assert payload["errors"][0]["field"] == "ids"
        assert payload["unreadMessageCount"] == 2  # the count as it stands, unchanged
    assert not any((await read_at(service, row.id)).values())
    assert not any((await read_at(service, other.id)).values())
    assert (await messages(other_client))["unreadMessageCount"] == 2

    # the error for someone else's message is the one for a message that never existed
    missing = await mark(candidate_client.client, ["999999999"])
    foreign = await mark(candidate_client.client, [theirs[0]])
    assert missing["errors"] == foreign["errors"]
    await other_client.aclose()


async def test_garbage_ids_are_not_found_and_nothing_is_marked(
    service: Service,
    categories: dict[str, MaterialCategory],
    candidate_client: SignedInCandidate,
    examiner_client: SignedInStaff,
) -> None:
    row: Candidate = candidate_client.row
    await with_messages(service, candidate_client, examiner_client.client, feedback=1)
    own = [m["id"] for m in (await messages(candidate_client.client))["messages"]]
    for ids in (["abc"], ["-1"], [""], ["1.5"], ["9" * 40], [own[0], "abc"], ["999999999"]):
        payload = await mark(candidate_client.client, ids)
        assert codes(payload) == ["NOT_FOUND"], ids
        assert payload["errors"][0]["message"] == "消息不存在或无权访问。"
        assert payload["unreadMessageCount"] == 2
    assert not any((await read_at(service, row.id)).values())
    assert (await messages(candidate_client.client))["unreadMessageCount"] == 2


async def test_each_message_posted_names_the_one_before_it(service: Service) -> None:
    """What the live event carries so a page can tell whether it missed one (0 for the first);
    read under the row lock, so another candidate's messages never come between."""
    row = await make_candidate(service)
    other = await make_candidate(service)
    with service.db():
        async with candidate_for_update(row.id) as locked:
            first = await post_message(locked, MessageKind.SYSTEM, "第一条")
        await post_message(other, MessageKind.SYSTEM, "别人的一条")
        async with candidate_for_update(row.id) as locked:
            second = await post_message(locked, MessageKind.FEEDBACK, "第二条")
    assert first.previous_id == 0
    assert second.previous_id == first.message.id

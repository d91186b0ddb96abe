"""resolvers/history.py history_of and the queue's deadline filters (resolvers/candidates.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models import MaterialCategory
from models.enums import ReviewStatus
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import Service

HISTORY = """
query($id: ID!) { candidate(id: $id) { history {
  at action actorRole actorName fromStatus toStatus note attachmentId } } }
"""
QUEUE = """
query($status: [ReviewStatus!], $overdue: Boolean, $order: QueueOrder, $first: Int, $after: String) {
  reviewQueue(status: $status, overdue: $overdue, orderBy: $order, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id replyDeadline } }
  }
}
"""


def jpeg(seed: int) -> dict[str, FilePart]:
    return {"file": FilePart(f"p{seed}.jpg", small_jpeg(seed), "image/jpeg")}


async def test_history_lists_every_transition_and_verdict_in_order(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    region = unique("历史省")
    row = await make_candidate(service, region=region)
    staff = await make_staff(service, region=region, site=None)
    examiner = await signed_in(service, staff.username)
    candidate = await signed_in(service, row.username)
    uploaded = []
    for seed, code in ((1, "ID"), (2, "ID"), (3, "EDU"), (4, "PROBATION")):
        result = await candidate.upload(op.UPLOAD, {"categoryId": str(categories[code].id)}, jpeg(seed))
        uploaded.append(result.payload("uploadAttachment")["attachment"]["id"])
    await candidate.execute(op.SUBMIT)
    verdict = await examiner.execute(
        op.VERDICT, {"id": uploaded[1], "verdict": "NEEDS_REPLACEMENT", "note": "模糊"}
    )
    assert verdict.payload("setAttachmentVerdict")["errors"] == []
    await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": "请注意反面"})
    await examiner.execute(op.RETURN, {"id": str(row.id), "message": "请重新上传反面"})
    await candidate.execute(op.DELETE, {"id": uploaded[1]})
    replacement = await candidate.upload(op.UPLOAD, {"categoryId": str(categories["ID"].id)}, jpeg(5))
    new_id = replacement.payload("uploadAttachment")["attachment"]["id"]
    await candidate.execute(op.SUBMIT)
    await examiner.execute(op.APPROVE, {"id": str(row.id)})

    history = (await examiner.execute(HISTORY, {"id": str(row.id)})).payload("candidate")["history"]
    steps = [(h["action"], h["fromStatus"], h["toStatus"]) for h in history if h["action"] != "ACTIVATE"]
    D, S, R, A = "DRAFT", "SUBMITTED", "RETURNED", "APPROVED"
    assert steps == [
        ("UPLOAD", D, D), ("UPLOAD", D, D), ("UPLOAD", D, D), ("UPLOAD", D, D),
        ("SUBMIT", D, S), ("VERDICT", S, S), ("FEEDBACK", S, S), ("RETURN", S, R),
        ("DELETE", R, R), ("UPLOAD", R, R), ("SUBMIT", R, S), ("APPROVE", S, A),
    ]
    by_action = {h["action"]: h for h in history}
    assert by_action["VERDICT"]["attachmentId"] == uploaded[1]
    assert by_action["VERDICT"]["note"] == "NEEDS_REPLACEMENT: 模糊"
    assert by_action["RETURN"]["actorName"] == staff.name and by_action["RETURN"]["actorRole"] == "EXAMINER"
    assert by_action["RETURN"]["note"] == "请重新上传反面"
    assert by_action["SUBMIT"]["actorRole"] == "CANDIDATE"
    assert [h["attachmentId"] for h in history if h["action"] == "UPLOAD"][-1] == new_id
    ats = [h["at"] for h in history]
    assert ats == sorted(ats)
    # Candidates cannot read the history, not even their own.
    own = await candidate.execute("query { me { history { action } } }")
    assert own.error_codes == ["FORBIDDEN"]
    for client in (candidate, examiner):
        await client.aclose()


async def test_overdue_filter_and_deadline_order(service: Service) -> None:
    region = unique("时限省")
    now = datetime.now(UTC)
    returned = {}
    for hours in (-30, -2, 5, 20):
        row = await make_candidate(
            service, region=region, status=ReviewStatus.RETURNED, submitted_at=now,
            returned_at=now - timedelta(hours=24), reply_deadline=now + timedelta(hours=hours),
        )
        returned[hours] = str(row.id)
    await make_candidate(service, region=region, status=ReviewStatus.SUBMITTED, submitted_at=now)
    staff = await make_staff(service, region=region, site=None)
    examiner = await signed_in(service, staff.username)

    overdue = (await examiner.execute(QUEUE, {"overdue": True})).payload("reviewQueue")
    assert overdue["totalCount"] == 2
    assert [e["node"]["id"] for e in overdue["edges"]] == [returned[-30], returned[-2]]

    order: list[str] = []
    after = None
    for _ in range(5):  # two pages of two, then done
        page = (
            await examiner.execute(QUEUE, {"order": "REPLY_DEADLINE", "first": 2, "after": after})
        ).payload("reviewQueue")
        order += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert order == [returned[h] for h in (-30, -2, 5, 20)]
    # The default queue is unchanged: SUBMITTED, oldest first.
    default = (await examiner.execute(QUEUE, {})).payload("reviewQueue")
    assert default["totalCount"] == 1
    # A filter on SUBMITTED with overdue finds nothing: only returns can be overdue.
    none = (await examiner.execute(QUEUE, {"overdue": True, "status": ["SUBMITTED"]})).payload("reviewQueue")
    assert none["totalCount"] == 0
    await examiner.aclose()

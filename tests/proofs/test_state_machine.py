"""Random interleavings of candidates and examiners, checked against a model after every step.

Hypothesis runs rules synchronously, so the machine runs in a worker thread and sends each
GraphQL call to the session's event loop (where the real service lives) with
`asyncio.run_coroutine_threadsafe`. Every example gets its own region, examiner and two
candidates, so examples never see each other.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from models import Attachment, AuditEntry, MaterialCategory, ReviewMessage
from models.enums import AuditAction, MessageKind, Role
from storage.base import ObjectMissing
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart, GraphQLClient
from tests.helpers.counts import grouped_counts, kept_counts
from tests.helpers.factories import make_candidate, make_staff, unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.raw import Tally
from tests.helpers.service import Service

T = TypeVar("T")
TRANSITIONS = {
    AuditAction.SUBMIT: MessageKind.SYSTEM,
    AuditAction.RETURN: MessageKind.RETURNED,
    AuditAction.APPROVE: MessageKind.APPROVED,
    AuditAction.REJECT: MessageKind.REJECTED,
}
PICTURES = [small_jpeg(seed) for seed in range(100, 104)]
MAX_EXAMPLES = 15
STEPS = 25
VIEW = """
query($id: ID!) { candidate(id: $id) { status locked
  materials { category { id } locked remaining attachments { id locked verdict sha256 } }
  messages { id kind } } }
"""
ME_VIEW = VIEW.replace("query($id: ID!) { candidate(id: $id)", "query { me")


@dataclass
class Model:
    """What one candidate's record must be, as the rules of DESIGN.md say."""

    id: int
    profile_complete: bool
    status: str = "DRAFT"
    unlocked: set[int] | None = None  # for RETURNED: None = every category
    # attachment id -> [category id, sha256, verdict]
    attachments: dict[str, list[Any]] = field(default_factory=dict)
    transitions: list[AuditAction] = field(default_factory=list)
    locked_snapshot: dict[str, list[Any]] | None = None

    @property
    def locked(self) -> bool:
        return self.status in ("SUBMITTED", "APPROVED", "REJECTED")

    def category_unlocked(self, category_id: int) -> bool:
        if self.status == "DRAFT":
            return True
        if self.status == "RETURNED":
            return self.unlocked is None or category_id in self.unlocked
        return False

    def attachment_locked(self, attachment_id: str) -> bool:
        category_id, _, verdict = self.attachments[attachment_id]
        if verdict == "ACCEPTED" and self.status != "DRAFT":
            return True
        return not self.category_unlocked(category_id)

    def count(self, category_id: int) -> int:
        return sum(1 for a in self.attachments.values() if a[0] == category_id)


@dataclass
class World:
    """What every example shares: the service, its loop, the categories, the tally."""

    service: Service
    loop: asyncio.AbstractEventLoop
    categories: list[MaterialCategory]
    required: dict[int, bool]
    tally: Tally

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(120)


def machine_for(world: World) -> type[RuleBasedStateMachine]:
    categories = world.categories
    by_id = {c.id: c for c in categories}

    class ReviewMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.world = world
            self.models: list[Model] = []
            self.clients: list[GraphQLClient] = []
            self.examiner: GraphQLClient
            self.region = unique("区")
            world.run(self._start())
            world.tally.add("examples")

        async def _start(self) -> None:
            region = self.region
            for complete in (True, False):
                row = await make_candidate(world.service, region=region, site="甲", profile=complete)
                self.models.append(Model(row.id, complete))
                self.clients.append(await signed_in(world.service, row.username))
            staff = await make_staff(world.service, region=region, site="甲", role=Role.EXAMINER)
            self.examiner = await signed_in(world.service, staff.username)

        def teardown(self) -> None:
            async def close() -> None:
                for client in [*self.clients, self.examiner]:
                    await client.aclose()

            world.run(close())

        def step(self) -> None:
            world.tally.add("steps")

        # --- candidate rules ------------------------------------------------------------

        @rule(who=st.integers(0, 1), category=st.sampled_from(categories), seed=st.integers(0, 3))
        def upload(self, who: int, category: MaterialCategory, seed: int) -> None:
            self.step()
            model, data = self.models[who], PICTURES[seed]
            result = world.run(
                self.clients[who].upload(
                    op.UPLOAD, {"categoryId": str(category.id)},
                    {"file": FilePart(f"p{seed}.jpg", data, "image/jpeg")},
                )
            )
            payload = result.payload("uploadAttachment")
            codes = [e["code"] for e in payload["errors"]]
            if not model.category_unlocked(category.id):
                assert codes == ["LOCKED"], codes
            elif model.count(category.id) >= category.max_count:
                assert codes == ["CATEGORY_FULL"], codes
            else:
                assert codes == [], codes
                attachment = payload["attachment"]
                assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
                model.attachments[attachment["id"]] = [category.id, attachment["sha256"], "PENDING"]

        @initialize(seed=st.integers(0, 3))
        def start_with_a_complete_record(self, seed: int) -> None:
            """The first candidate starts with its required pictures, so submits can succeed early."""
            model = self.models[0]
            for category in categories:
                if world.required[category.id]:
                    while model.count(category.id) < max(category.min_count, 1):
                        self.upload(0, category, seed)

        @rule(who=st.integers(0, 1), seed=st.integers(0, 3))
        def fill_and_submit(self, who: int, seed: int) -> None:
            """Upload into every required category up to its minimum, then submit.

            What a real candidate does in one sitting; without it random steps rarely reach a
            complete record, and the examiners' rules would seldom run.
            """
            model = self.models[who]
            for category in categories:
                if world.required[category.id]:
                    while model.count(category.id) < max(category.min_count, 1):
                        self.upload(who, category, seed)
                        if not model.category_unlocked(category.id):
                            break
            self.submit(who)

        @rule(who=st.integers(0, 1), pick=st.integers(0, 20))
        def delete(self, who: int, pick: int) -> None:
            self.step()
            model = self.models[who]
            if not model.attachments:
                return
            attachment_id = sorted(model.attachments)[pick % len(model.attachments)]
            result = world.run(self.clients[who].execute(op.DELETE, {"id": attachment_id}))
            codes = [e["code"] for e in result.payload("deleteAttachment")["errors"]]
            if model.attachment_locked(attachment_id):
                assert codes == ["LOCKED"], codes
            else:
                assert codes == [], codes
                del model.attachments[attachment_id]

        @rule(who=st.integers(0, 1))
        def submit(self, who: int) -> None:
            self.step()
            model = self.models[who]
            result = world.run(self.clients[who].execute(op.SUBMIT))
            codes = sorted(e["code"] for e in result.payload("submitForReview")["errors"])
            if model.status not in ("DRAFT", "RETURNED"):
                assert codes == ["INVALID_STATE"], codes
                return
            expected = [] if model.profile_complete else ["PROFILE_INCOMPLETE"] * 2
            for category in categories:
                if world.required[category.id] and model.count(category.id) < max(category.min_count, 1):
                    expected.append("REQUIRED_MATERIAL_MISSING")
            assert codes == sorted(expected), (codes, expected)
            if not expected:
                self._transition(model, AuditAction.SUBMIT, "SUBMITTED")

        @rule(who=st.integers(0, 1), valid=st.booleans())
        def change_profile(self, who: int, valid: bool) -> None:
            self.step()
            model = self.models[who]
            phone = "13912345678" if valid else "12345"
            result = world.run(
                self.clients[who].execute(op.UPDATE_PROFILE, {"phone": phone, "address": "济南市 1 号"})
            )
            codes = [e["code"] for e in result.payload("updateProfile")["errors"]]
            # Phone and address may change at any time, locked or not.
            assert codes == ([] if valid else ["INVALID_PHONE"]), codes
            if valid:
                model.profile_complete = True

        # --- examiner rules -------------------------------------------------------------

        @rule(
            who=st.integers(0, 1),
            named=st.one_of(st.none(), st.lists(st.sampled_from(categories), max_size=3)),
        )
        def return_for_correction(self, who: int, named: list[MaterialCategory] | None) -> None:
            self.step()
            model = self.models[who]
            variables: dict[str, Any] = {"id": str(model.id), "message": "请重新上传。"}
            if named is not None:
                variables["categoryIds"] = [str(c.id) for c in named]
            result = world.run(self.examiner.execute(op.RETURN, variables))
            codes = [e["code"] for e in result.payload("returnForCorrection")["errors"]]
            if model.status != "SUBMITTED":
                assert codes == ["INVALID_STATE"], codes
                return
            assert codes == [], codes
            self._transition(model, AuditAction.RETURN, "RETURNED")
            model.unlocked = {c.id for c in named} if named else None

        @rule(who=st.integers(0, 1))
        def approve(self, who: int) -> None:
            self.step()
            self._decide(who, op.APPROVE, "approveCandidate", {}, AuditAction.APPROVE, "APPROVED")

        @rule(who=st.integers(0, 1))
        def reject(self, who: int) -> None:
            self.step()
            self._decide(who, op.REJECT, "rejectCandidate", {"reason": "材料不符。"}, AuditAction.REJECT, "REJECTED")

        @rule(
            who=st.integers(0, 1),
            pick=st.integers(0, 20),
            verdict=st.sampled_from(["ACCEPTED", "NEEDS_REPLACEMENT", "PENDING"]),
        )
        def verdict(self, who: int, pick: int, verdict: str) -> None:
            self.step()
            model = self.models[who]
            if not model.attachments:
                return
            attachment_id = sorted(model.attachments)[pick % len(model.attachments)]
            result = world.run(
                self.examiner.execute(op.VERDICT, {"id": attachment_id, "verdict": verdict, "note": "看过"})
            )
            codes = [e["code"] for e in result.payload("setAttachmentVerdict")["errors"]]
            if model.status != "SUBMITTED":
                assert codes == ["INVALID_STATE"], codes
            else:
                assert codes == [], codes
                model.attachments[attachment_id][2] = verdict

        def _decide(
            self, who: int, document: str, name: str, extra: dict[str, str],
            action: AuditAction, status: str,
        ) -> None:
            model = self.models[who]
            result = world.run(self.examiner.execute(document, {"id": str(model.id), **extra}))
            codes = [e["code"] for e in result.payload(name)["errors"]]
            if model.status != "SUBMITTED":
                assert codes == ["INVALID_STATE"], codes
                return
            assert codes == [], codes
            self._transition(model, action, status)

        def _transition(self, model: Model, action: AuditAction, status: str) -> None:
            model.transitions.append(action)
            model.status = status
            model.unlocked = None
            world.tally.add("state changes")
            if model.locked:
                model.locked_snapshot = {k: list(v[:2]) for k, v in model.attachments.items()}

        # --- after every step -----------------------------------------------------------

        @invariant()
        def everything_holds(self) -> None:
            if not self.models:
                return
            world.run(self._check())
            world.tally.add("invariant checks")

        async def _check(self) -> None:
            for who, model in enumerate(self.models):
                await self._check_rows(model)
                await self._check_views(who, model)
            # The triggers' counts are exactly a GROUP BY of the example's candidates.
            with world.service.db():
                kept = await kept_counts(self.region)
                assert kept == await grouped_counts(self.region), kept
            statuses: dict[tuple[str, str], tuple[int, int]] = {}
            for model in self.models:
                n, reviewed = statuses.get(("甲", model.status), (0, 0))
                decided = any(a != AuditAction.SUBMIT for a in model.transitions)
                statuses[("甲", model.status)] = (n + 1, reviewed + int(decided))
            assert kept == statuses, (kept, statuses)

        async def _check_rows(self, model: Model) -> None:
            store = world.service.services.store
            with world.service.db():
                rows = await Attachment.filter(candidate_id=model.id)
                audit = await AuditEntry.filter(
                    candidate_id=model.id, action__in=list(TRANSITIONS)
                ).order_by("id")
                messages = await ReviewMessage.filter(
                    candidate_id=model.id, kind__in=list(TRANSITIONS.values())
                ).order_by("id")
            # No category above its maximum, and the rows are exactly the model's.
            for category in categories:
                assert sum(1 for r in rows if r.category_id == category.id) <= category.max_count
            assert {str(r.id): [r.category_id, r.sha256] for r in rows} == {
                k: v[:2] for k, v in model.attachments.items()
            }
            assert {str(r.id): r.verdict.value for r in rows} == {
                k: v[2] for k, v in model.attachments.items()
            }
            # Nothing changes while locked.
            if model.locked:
                assert model.locked_snapshot == {str(r.id): [r.category_id, r.sha256] for r in rows}
            # Every state change: exactly one audit row and one message, in order.
            assert [a.action for a in audit] == model.transitions
            assert [m.kind for m in messages] == [TRANSITIONS[a] for a in model.transitions]
            for entry in audit:
                assert entry.to_status.value == (
                    "SUBMITTED" if entry.action == AuditAction.SUBMIT
                    else {"RETURN": "RETURNED", "APPROVE": "APPROVED", "REJECT": "REJECTED"}[entry.action.value]
                )
            # Every row has its bytes, with its SHA-256, and its thumbnail.
            for row in rows:
                data = await store.get(row.storage_key)
                assert hashlib.sha256(data).hexdigest() == row.sha256
                try:
                    await store.get(row.thumbnail_key)
                except ObjectMissing:  # pragma: no cover - the assertion names the problem
                    raise AssertionError(f"thumbnail missing for {row.id}") from None

        async def _check_views(self, who: int, model: Model) -> None:
            mine = (await self.clients[who].execute(ME_VIEW)).payload("me")
            theirs = (await self.examiner.execute(VIEW, {"id": str(model.id)})).payload("candidate")
            assert mine == theirs
            assert mine["status"] == model.status and mine["locked"] == model.locked
            for material in mine["materials"]:
                category_id = int(material["category"]["id"])
                unlocked = model.category_unlocked(category_id)
                assert material["locked"] == (not unlocked)
                left = by_id[category_id].max_count - model.count(category_id)
                assert material["remaining"] == (max(left, 0) if unlocked else 0)
                for attachment in material["attachments"]:
                    assert attachment["locked"] == model.attachment_locked(attachment["id"])

    return ReviewMachine


@pytest.mark.slow
async def test_random_interleavings_keep_every_invariant(
    service: Service, categories: dict[str, MaterialCategory]
) -> None:
    probe = await make_candidate(service, region=unique("区"))
    client = await signed_in(service, probe.username)
    me = (await client.execute(op.ME)).payload("me")
    await client.aclose()
    required = {int(m["category"]["id"]): m["required"] for m in me["materials"]}
    applicable = [c for c in categories.values() if c.id in required]
    tally = Tally("state machine")
    world = World(service, asyncio.get_running_loop(), applicable, required, tally)
    options = settings(
        max_examples=MAX_EXAMPLES,
        stateful_step_count=STEPS,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    await asyncio.to_thread(run_state_machine_as_test, machine_for(world), settings=options)
    tally.report()
    assert tally.counts["examples"] >= MAX_EXAMPLES
    assert tally.counts["steps"] >= MAX_EXAMPLES * 5
    assert tally.counts.get("state changes", 0) > 0

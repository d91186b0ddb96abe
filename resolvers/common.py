"""Small pieces every resolver module uses: ids, the candidate row lock, audit and events."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from models import AuditEntry, Candidate, MaterialCategory, ReviewMessage, StaffUser
from models.enums import AuditAction, MessageKind, ReviewStatus
from resolvers.errors import not_found
from server.context import Catalog, Services, Viewer

SYSTEM_AUTHOR = "系统"

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_int_id(value: object) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None


@asynccontextmanager
async def candidate_for_update(candidate_id: int) -> AsyncIterator[Candidate]:
    """A transaction holding the candidate's row lock: every check-then-change goes through it.

    On PostgreSQL the row is locked with SELECT … FOR UPDATE. SQLite ignores FOR UPDATE and
    its transactions start deferred: one that reads first and writes later fails at once with
    "database is locked" when another process writes meanwhile. Writing first takes SQLite's
    write lock up front, where busy_timeout makes other workers wait for it instead.
    """
    async with in_transaction() as connection:
        if connection.capabilities.dialect == "sqlite":
            await Candidate.filter(id=candidate_id).update(updated_at=utcnow())
        candidate = await Candidate.select_for_update().get_or_none(id=candidate_id)
        if candidate is None:
            raise not_found("考生")
        yield candidate


async def write_audit(
    candidate: Candidate,
    action: AuditAction,
    actor: Viewer | StaffUser | None,
    from_status: ReviewStatus,
    to_status: ReviewStatus | None = None,
    note: str | None = None,
    attachment_id: str | None = None,
) -> AuditEntry:
    actor_id: int | None
    if isinstance(actor, StaffUser):
        role, actor_id, name = actor.role, actor.id, actor.name
    elif isinstance(actor, Viewer):
        role = actor.role
        actor_id = actor.staff.id if actor.staff else actor.candidate.id if actor.candidate else None
        name = actor.display_name
    else:
        role, actor_id, name = None, None, SYSTEM_AUTHOR
    return await AuditEntry.create(
        candidate_id=candidate.id,
        action=action,
        actor_role=role,
        actor_id=actor_id,
        actor_name=name,
        from_status=from_status,
        to_status=to_status or from_status,
        note=note,
        attachment_id=attachment_id,
        at=utcnow(),
    )


async def post_message(
    candidate: Candidate, kind: MessageKind, body: str, author: StaffUser | None = None
) -> ReviewMessage:
    return await ReviewMessage.create(
        candidate_id=candidate.id,
        kind=kind,
        body=body,
        author_name=author.name if author else SYSTEM_AUTHOR,
        author_staff_id=author.id if author else None,
        created_at=utcnow(),
    )


def candidate_topic(candidate_id: int) -> str:
    return f"candidate:{candidate_id}"


def queue_topic(region: str) -> str:
    return f"queue:{region}"


async def _publish(services: Services, topic: str, event: dict[str, object]) -> None:
    # Called after the commit: a broker failure must never fail the mutation; subscribers
    # catch up from the database once the broker is back.
    try:
        await services.broker.publish(topic, event)
    except Exception:
        log.exception("event on %s not published", topic)


async def publish_review_event(
    services: Services, candidate: Candidate, message: ReviewMessage
) -> None:
    await _publish(
        services,
        candidate_topic(candidate.id),
        {"message_id": message.id, "candidate_id": candidate.id, "status": candidate.status.value},
    )


async def publish_queue_event(services: Services, candidate: Candidate, at: datetime) -> None:
    event = {
        "candidate_id": candidate.id,
        "region": candidate.region,
        "site": candidate.site,
        "status": candidate.status.value,
        "at": at.isoformat(),
    }
    # Examiners of every region listen on "*"; everyone else on their own region.
    await _publish(services, queue_topic(candidate.region), event)
    await _publish(services, queue_topic("*"), event)


@dataclass(frozen=True)
class Requirement:
    category: MaterialCategory
    required: bool


def requirements_for(catalog: Catalog, candidate: Candidate) -> list[Requirement]:
    """The categories that apply to this candidate, in display order."""
    required: dict[int, bool] = {}
    for rule in catalog.rules:
        if rule.matches(candidate):
            required[rule.category_id] = required.get(rule.category_id, False) or rule.required  # type: ignore[attr-defined]
    found = [
        Requirement(catalog.categories[cid], req)
        for cid, req in required.items()
        if cid in catalog.categories
    ]
    found.sort(key=lambda r: (r.category.position, r.category.id))
    return found

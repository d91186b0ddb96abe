"""Live events after a commit: topics, and publishing that never fails the mutation."""

from __future__ import annotations

import logging
from datetime import datetime

from core.context import Services
from models import Candidate, ReviewMessage

log = logging.getLogger(__name__)


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

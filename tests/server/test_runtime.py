"""server/app.py: what a started worker sets in its Python runtime."""

from __future__ import annotations

import gc

from server.app import GC_THRESHOLD
from tests.helpers.service import Service


async def test_a_started_service_freezes_start_up_objects_and_collects_young_ones_less_often(
    service: Service,
) -> None:
    client = service.client()
    assert (await client.execute("{ __typename }")).data == {"__typename": "Query"}
    await client.aclose()
    assert gc.get_freeze_count() > 10_000  # modules, the schema: never rescanned
    assert gc.get_threshold() == GC_THRESHOLD

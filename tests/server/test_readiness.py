"""/readyz: 200 only when the database, the broker and the picture store each answer within 1 s.

Each part is made to fail for real: a broker and a database at closed ports, an S3 store (a
SeaweedFS of this test) stopped. /healthz stays the liveness check and answers throughout.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers.engines import SeaweedS3, free_port, own_seaweed
from tests.helpers.service import Service, start_service, test_settings
from tests.helpers.waiting import eventually


async def probe(service: Service) -> tuple[int, dict[str, str], int]:
    """/readyz's status and parts, and /healthz's status."""
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        ready = await http.get("/readyz")
        alive = await http.get("/healthz")
    return ready.status_code, ready.json(), alive.status_code


async def ready(service: Service) -> bool:
    return (await probe(service))[0] == 200


async def test_ready_when_every_part_answers(service: Service) -> None:
    assert await probe(service) == (200, {"database": "ok", "broker": "ok", "store": "ok"}, 200)


async def test_broker_at_a_closed_port_is_not_ready(tmp_path: Path) -> None:
    settings = test_settings(tmp_path, broker_url=f"redis://127.0.0.1:{free_port()}/0")
    running = await start_service(settings)  # a Redis that is down does not stop the start
    try:
        status, parts, alive = await probe(running)
        assert status == 503 and alive == 200
        assert parts["database"] == parts["store"] == "ok"
        assert parts["broker"].startswith(("unreachable", "no answer")), parts
    finally:
        await running.stop()


async def test_database_unreachable_is_not_ready(tmp_path: Path) -> None:
    closed = f"postgres://postgres@127.0.0.1:{free_port()}/exam_review"
    running = await start_service(test_settings(tmp_path, database_url=closed), migrated=False)
    try:
        status, parts, alive = await probe(running)
        assert status == 503 and alive == 200
        assert parts["broker"] == parts["store"] == "ok"
        assert parts["database"] == "unreachable (ConnectionRefusedError)", parts
    finally:
        await running.stop()


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedS3]:
    """A SeaweedFS of this test, which it may stop."""
    with own_seaweed(tmp_path / "seaweedfs") as s3:
        yield s3


async def test_store_stopped_is_not_ready(tmp_path: Path, own_s3: SeaweedS3) -> None:
    settings = test_settings(tmp_path, storage_url=own_s3.storage_url("er-ready"))
    running = await start_service(settings)
    try:
        assert (await probe(running))[0] == 200
        own_s3.kill()
        status, parts, alive = await probe(running)
        assert status == 503 and alive == 200
        assert parts["database"] == parts["broker"] == "ok"
        assert parts["store"].startswith(("unreachable", "no answer")), parts
        own_s3.restart()
        # Back without restarting the service, once SeaweedFS has found its volumes again.
        await eventually(lambda: ready(running), "ready again after the store restarted", 30)
    finally:
        await running.stop()

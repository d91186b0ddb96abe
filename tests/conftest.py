"""Shared fixtures: one real service per session, with the demo's categories loaded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from models import MaterialCategory
from tests.helpers.accounts import (
    SignedInCandidate,
    SignedInStaff,
    candidate_signed_in,
    staff_signed_in,
)
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import load_demo_categories
from tests.helpers.service import (
    STACK,
    ScaleStack,
    Service,
    start_service,
    test_settings,
    use_stack,
)


@pytest.fixture(scope="session")
def scale_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleStack]:
    """PostgreSQL databases, Redis prefixes and a SeaweedFS bucket of this run, removed after."""
    stack = ScaleStack.start(tmp_path_factory.mktemp("scale"))
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="session", autouse=True)
def engine_stack(request: pytest.FixtureRequest) -> Iterator[str]:
    """With EXAM_REVIEW_STACK=scale, every test_settings() call runs on the scale engines."""
    if STACK == "scale":
        use_stack(request.getfixturevalue("scale_stack"))
    try:
        yield STACK
    finally:
        use_stack(None)


@pytest.fixture(scope="session")
async def service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    folder = tmp_path_factory.mktemp("service")
    running = await start_service(test_settings(folder))
    yield running
    await running.stop()


@pytest.fixture(scope="session")
async def categories(
    service: Service, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, MaterialCategory]:
    return await load_demo_categories(service, tmp_path_factory.mktemp("examples"))


@pytest.fixture
async def anonymous(service: Service) -> AsyncIterator[GraphQLClient]:
    client = service.client()
    yield client
    await client.aclose()


@pytest.fixture
async def candidate_client(
    service: Service, categories: dict[str, MaterialCategory]
) -> AsyncIterator[SignedInCandidate]:
    """A signed-in candidate of 山东省/济南 with a complete profile."""
    signed = await candidate_signed_in(service)
    yield signed
    await signed.client.aclose()


@pytest.fixture
async def examiner_client(service: Service) -> AsyncIterator[SignedInStaff]:
    """A signed-in examiner of 山东省/济南."""
    signed = await staff_signed_in(service)
    yield signed
    await signed.client.aclose()


def pytest_report_header(config: pytest.Config) -> str:
    engines = "PostgreSQL + Redis + SeaweedFS (S3)" if STACK == "scale" else "SQLite + memory broker + local folder"
    return f"exam-review stack: {STACK} ({engines})"


def pytest_configure(config: pytest.Config) -> None:
    Path("tests/screenshots").mkdir(parents=True, exist_ok=True)

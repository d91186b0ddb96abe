"""server/observability.py: /metrics, request ids and the one JSON log line per request."""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from models import Attachment, MaterialCategory
from models.enums import ReviewStatus
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, candidate_signed_in, staff_signed_in
from tests.helpers.client import FilePart
from tests.helpers.factories import load_demo_categories, make_candidate
from tests.helpers.flows import fetch, uploaded
from tests.helpers.pictures import small_jpeg
from tests.helpers.processes import ServerProcess, serve_env
from tests.helpers.scrape import file_log_lines, log_lines, scrape
from tests.helpers.service import Service, start_service, test_settings
from tests.helpers.waiting import eventually

MASKED = "服务器内部错误，请稍后重试。"


def named(name: str, document: str) -> str:
    """The same operation under a name: `mutation(…) {…}` becomes `mutation Name (…) {…}`."""
    found = re.match(r"\s*(query|mutation|subscription)\s*(.*)", document, re.S)
    assert found, document
    return f"{found[1]} {name} {found[2]}"


async def test_metrics_count_each_operation_by_name_type_and_outcome(
    service: Service, candidate_client: SignedInCandidate, categories: dict[str, MaterialCategory]
) -> None:
    client = candidate_client.client
    before = await scrape(service.base_url)
    for _ in range(3):
        assert not (await client.execute("query ObsMe { me { id } }")).errors
    bad_phone = await client.execute(
        named("ObsBadPhone", op.UPDATE_PROFILE), {"phone": "123", "address": "济南市"}
    )
    assert [e["code"] for e in bad_phone.payload("updateProfile")["errors"]] == ["INVALID_PHONE"]
    forbidden = await client.execute("query ObsQueue { reviewQueue { totalCount } }")
    assert forbidden.error_codes == ["FORBIDDEN"]
    picture = await uploaded(client, categories["ID"].id)
    after = await scrape(service.base_url)

    def grew(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    requests = "exam_review_graphql_requests_total"
    assert grew(requests, operation="ObsMe", type="query", outcome="ok") == 3
    assert grew(requests, operation="ObsBadPhone", type="mutation", outcome="rejected") == 1
    assert grew(requests, operation="ObsQueue", type="query", outcome="client_error") == 1
    # Unnamed operations (the upload above) share one series.
    assert grew(requests, operation="anonymous", type="mutation", outcome="ok") == 1
    duration = "exam_review_graphql_request_duration_seconds"
    assert grew(f"{duration}_count", operation="ObsMe", type="query") == 3
    assert grew(f"{duration}_sum", operation="ObsMe", type="query") > 0
    assert grew("exam_review_payload_errors_total", mutation="updateProfile", code="INVALID_PHONE") == 1
    assert grew("exam_review_upload_bytes_count") == 1
    assert grew("exam_review_upload_bytes_sum") == picture["byteSize"]
    assert grew("exam_review_http_requests_total", route="/graphql", status="200") == 6
    # Read from the database at scrape time.
    assert after.value("exam_review_database_figures_read") == 1
    assert after.value("exam_review_candidates", status="DRAFT") >= 1
    assert after.has("exam_review_outbox_oldest_due_seconds")


async def test_open_sockets_and_live_subscriptions_are_gauged(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    before = await scrape(service.base_url)
    live = "exam_review_live_subscriptions"
    document = named("ObsEvents", op.REVIEW_EVENTS)
    async with candidate_client.client.subscribe(document):

        async def counted() -> bool:
            now = await scrape(service.base_url)
            return now.value(live, operation="ObsEvents") == 1 and now.value(
                "exam_review_open_websockets"
            ) == before.value("exam_review_open_websockets") + 1

        await eventually(counted, "the socket and its subscription are counted")

    async def released() -> bool:
        now = await scrape(service.base_url)
        return now.value(live, operation="ObsEvents") == 0 and now.value(
            "exam_review_open_websockets"
        ) == before.value("exam_review_open_websockets")

    await eventually(released, "the closed socket and subscription are no longer counted")


async def test_metrics_from_elsewhere_need_the_token(tmp_path: Path) -> None:
    running = await start_service(test_settings(tmp_path, metrics_token="scrape-2026-token"))
    try:
        async with httpx.AsyncClient(base_url=running.base_url, timeout=30) as http:
            # The service trusts X-Forwarded-For from a proxy on loopback, as behind nginx.
            elsewhere = {"X-Forwarded-For": "203.0.113.7"}
            refused = await http.get("/metrics", headers=elsewhere)
            assert refused.status_code == 403
            assert refused.text == "无权读取监控指标。"
            wrong = await http.get(
                "/metrics", headers={**elsewhere, "Authorization": "Bearer scrape-2026-tokeN"}
            )
            assert wrong.status_code == 403
            allowed = await http.get(
                "/metrics", headers={**elsewhere, "Authorization": "Bearer scrape-2026-token"}
            )
            assert allowed.status_code == 200
            assert "exam_review_http_requests_total" in allowed.text
            assert (await http.get("/metrics")).status_code == 200  # loopback needs no token
    finally:
        await running.stop()


async def test_every_answer_has_an_id_and_one_log_line(
    service: Service, candidate_client: SignedInCandidate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exam_review.requests")
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        first = await http.get("/healthz")
        second = await http.get("/healthz")
    assert first.headers["x-request-id"] != second.headers["x-request-id"]
    result = await candidate_client.client.execute("query ObsLogged { me { id } }")
    lines = {line["request_id"]: line for line in log_lines(caplog.records)}
    assert lines[first.headers["x-request-id"]]["path"] == "/healthz"
    line = lines[str(result.request_id)]
    assert line["operation"] == "ObsLogged"
    assert line["operation_type"] == "query"
    assert line["viewer_role"] == "CANDIDATE"
    assert line["viewer_id"] == candidate_client.row.id
    assert line["outcome"] == "ok"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0


@pytest.fixture
async def own_service(tmp_path: Path) -> AsyncIterator[Service]:
    """A service whose pictures live in a folder of this test, so the test can break it."""
    running = await start_service(test_settings(tmp_path, storage_url=f"file://{tmp_path}/files"))
    (tmp_path / "examples").mkdir()
    await load_demo_categories(running, tmp_path / "examples")
    yield running
    await running.stop()


async def test_a_masked_error_leads_to_its_log_line(
    own_service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exam_review")
    candidate = await candidate_signed_in(own_service)
    with own_service.db():
        category = await MaterialCategory.get(code="ID")
    # The folder pictures go into is not a folder any more: a disk gone wrong.
    (tmp_path / "files" / "pictures").write_bytes(b"")
    result = await candidate.client.upload(
        named("ObsUpload", op.UPLOAD),
        {"categoryId": str(category.id)},
        {"file": FilePart("front.jpg", small_jpeg(5), "image/jpeg")},
    )
    [error] = result.errors
    assert error["message"] == MASKED
    request_id = error["extensions"]["requestId"]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert request_id == result.request_id  # the same id in the header
    [line] = [line for line in log_lines(caplog.records) if line["request_id"] == request_id]
    assert line["operation"] == "ObsUpload"
    assert line["viewer_role"] == "CANDIDATE" and line["viewer_id"] == candidate.row.id
    assert line["outcome"] == "server_error"
    assert line["error"].startswith(("NotADirectoryError", "FileExistsError"))
    # The traceback is logged under the same id.
    failures = [r for r in caplog.records if r.name == "exam_review.errors" and request_id in r.getMessage()]
    assert failures and failures[0].exc_info is not None
    with own_service.db():
        assert not await Attachment.filter(candidate_id=candidate.row.id).exists()
    await candidate.client.aclose()


async def test_an_unhandled_failure_answers_500_with_its_id(
    own_service: Service, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exam_review")
    candidate = await candidate_signed_in(own_service)
    with own_service.db():
        category = await MaterialCategory.get(code="ID")
    picture = await uploaded(candidate.client, category.id)
    with own_service.db():
        row = await Attachment.get(id=picture["id"])
    # The stored file became a folder: reading it fails in a way no handler expects.
    stored = tmp_path / "files" / row.storage_key
    stored.unlink()
    stored.mkdir()
    response = await fetch(picture["url"])
    assert response.status_code == 500
    request_id = response.headers["x-request-id"]
    assert request_id in response.text and MASKED.rstrip("。") in response.text
    [line] = [line for line in log_lines(caplog.records) if line["request_id"] == request_id]
    assert line["status"] == 500 and line["outcome"] == "server_error"
    assert line["error"].startswith("IsADirectoryError")
    shutil.rmtree(stored)
    await candidate.client.aclose()


async def test_two_workers_report_the_totals_of_both(tmp_path: Path) -> None:
    settings = test_settings(tmp_path)
    # TMPDIR: where serve keeps the run's metrics files.
    env = serve_env(settings, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    server = ServerProcess.serve(env, tmp_path, "--workers", "2", name="two-workers")
    try:
        await server.started()
        # Fresh connections until both workers have answered; the log line names the pid.
        sent = 0

        async def ask() -> None:
            nonlocal sent
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                response = await http.post("/graphql", json={"query": "query TwoWorkers { __typename }"})
            assert response.status_code == 200
            sent += 1

        def answering_pids(path: str) -> set[int]:
            return {line["pid"] for line in file_log_lines(server.log_path) if line["path"] == path}

        while sent < 20 or (len(answering_pids("/graphql")) < 2 and sent < 400):
            await asyncio.gather(*(ask() for _ in range(10)))
        await eventually(lambda: len(answering_pids("/graphql")) >= 1, "request lines logged")
        assert len(answering_pids("/graphql")) == 2, "one worker answered every request"

        totals = []
        for _ in range(40):
            scraped = await scrape(server.url)
            totals.append(
                scraped.value("exam_review_graphql_requests_total", operation="TwoWorkers")
            )
            if len(answering_pids("/metrics")) == 2 and len(totals) >= 4:
                break
        assert len(answering_pids("/metrics")) == 2, "one worker answered every scrape"
        # Whichever worker answered, the count is the total of both.
        assert set(totals) == {float(sent)}, totals
        print(f"\n[two workers] {sent} requests, {len(totals)} scrapes, totals {set(totals)}")
        assert list((tmp_path / "tmp").glob("exam-review-metrics-*")), "no metrics folder"
    finally:
        assert await server.stop() == 0, server.log_tail()
    # The run's metrics folder goes with the server.
    assert not list((tmp_path / "tmp").glob("exam-review-metrics-*"))


async def test_live_claims_are_gauged(tmp_path: Path) -> None:
    """A claim taken shows on the next scrape; a released one no longer does."""
    running = await start_service(test_settings(tmp_path, metrics_cache_seconds=0))
    try:
        examiner = await staff_signed_in(running)
        waiting = await make_candidate(running, status=ReviewStatus.SUBMITTED)
        assert (await scrape(running.base_url)).value("exam_review_live_claims") == 0
        claimed = await examiner.client.execute(op.CLAIM, {"id": str(waiting.id)})
        assert claimed.payload("claimCandidate")["errors"] == []
        assert (await scrape(running.base_url)).value("exam_review_live_claims") == 1
        released = await examiner.client.execute(op.RELEASE, {"id": str(waiting.id)})
        assert released.payload("releaseCandidate")["errors"] == []
        assert (await scrape(running.base_url)).value("exam_review_live_claims") == 0
        await examiner.client.aclose()
    finally:
        await running.stop()

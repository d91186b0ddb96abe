"""The candidate page on a bad line: lost connections, 502s and hung uploads, through a real relay."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import BrowserContext, expect

from models import Attachment, Candidate, MaterialCategory
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.documents import document_photo
from tests.helpers.factories import PASSWORD, load_demo_categories, make_candidate, make_staff
from tests.helpers.scrape import log_lines, scrape
from tests.helpers.service import Service, start_service, test_settings
from tests.page.conftest import PageErrors, card, jpeg_file, screenshot, sign_in
from tests.page.proxy import Line, Relay

# What Chromium logs for requests that the relay cut or answered with 502: expected here.
# What Chromium logs while the line is cut; which net::ERR_ it is depends on timing.
NETWORK_NOISE = (r"Failed to load resource: net::ERR_", r"status of 502", r"WebSocket connection")


@pytest.fixture
async def relay(service: Service) -> AsyncIterator[Relay]:
    target = urlsplit(service.base_url)
    running = Relay(target.hostname or "127.0.0.1", target.port or 80)
    await running.start()
    yield running
    await running.stop()


async def send_feedback(service: Service, staff_username: str, candidate_id: int, body: str) -> None:
    examiner = await signed_in(service, staff_username)
    try:
        sent = await examiner.execute(op.FEEDBACK, {"id": str(candidate_id), "body": body})
        assert sent.payload("sendFeedback")["errors"] == []
    finally:
        await examiner.aclose()


async def test_lost_connection_offers_retry_and_catches_up(
    service: Service,
    categories: dict[str, MaterialCategory],
    relay: Relay,
    context: BrowserContext,
) -> None:
    row = await make_candidate(service)
    staff = await make_staff(service)
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, relay.base_url, row.username, PASSWORD)

    relay.set_line(Line.DOWN)
    await expect(page.locator("#live")).to_have_attribute("data-live", "retrying")
    # sent while the page is cut off: the socket cannot carry it
    await send_feedback(service, staff.username, row.id, "请补充学历证明的原件照片。")

    await page.get_by_role("button", name="修改").click()
    await page.locator("#phone").fill("13700000001")
    await page.get_by_role("button", name="保存").click()
    banner = page.locator("#banner")
    await expect(banner).to_contain_text("网络连接失败，请检查网络后重试。")
    await expect(page.locator("#registration")).to_be_visible()  # never a blank page
    await expect(page.locator("#phone")).to_have_value("13700000001")  # nothing typed is lost
    await screenshot(page, "connection_lost_retry")

    relay.set_line(Line.UP)
    await banner.get_by_role("button", name="重试").click()
    await expect(banner).to_be_hidden()
    await expect(page.locator(".profile-line")).to_contain_text("13700000001")
    with service.db():
        assert (await Candidate.get(id=row.id)).phone == "13700000001"

    # the socket comes back by itself and re-reads what it missed
    await expect(page.locator("#live")).to_have_attribute("data-live", "open", timeout=30_000)
    await expect(page.locator(".message-list .message").first).to_contain_text("请补充学历证明的原件照片。")
    await expect(page.locator("#unread-count")).to_have_text("1")
    await screenshot(page, "connection_caught_up")
    assert errors.unexpected(*NETWORK_NOISE) == []


async def test_bad_gateway_offers_retry(
    service: Service,
    categories: dict[str, MaterialCategory],
    relay: Relay,
    context: BrowserContext,
) -> None:
    row = await make_candidate(service)
    staff = await make_staff(service)
    await send_feedback(service, staff.username, row.id, "请上传清晰的身份证反面。")
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, relay.base_url, row.username, PASSWORD)

    relay.set_line(Line.BAD_GATEWAY)
    await page.get_by_role("button", name="全部标为已读").click()
    banner = page.locator("#banner")
    await expect(banner).to_contain_text("服务器暂时无法处理请求（502），请稍后重试。")
    await expect(page.locator(".message-list")).to_contain_text("请上传清晰的身份证反面。")
    await screenshot(page, "connection_bad_gateway")

    relay.set_line(Line.UP)
    await banner.get_by_role("button", name="重试").click()
    await expect(banner).to_be_hidden()
    await expect(page.locator(".unread-badge")).to_have_count(0)
    await screenshot(page, "connection_bad_gateway_retried")
    assert errors.unexpected(*NETWORK_NOISE) == []


async def test_upload_shows_progress_and_can_be_cancelled(
    service: Service,
    categories: dict[str, MaterialCategory],
    relay: Relay,
    context: BrowserContext,
) -> None:
    row = await make_candidate(service)
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, relay.base_url, row.username, PASSWORD)
    id_card = card(page, "ID")

    await id_card.locator("input[type=file]").set_input_files(jpeg_file("front.jpg", document_photo(51)))
    relay.set_line(Line.STALLED)  # the request leaves, but no answer ever comes
    await page.locator("dialog.dialog[open]").get_by_role("button", name="确认上传").click()
    progress = id_card.locator(".upload-progress")
    await expect(progress.locator("progress")).to_be_visible()
    await expect(progress).to_contain_text("正在上传")
    await expect(id_card.locator(".slot")).to_have_count(0)  # one upload at a time
    await screenshot(page, "upload_in_progress")
    await progress.get_by_role("button", name="取消上传").click()
    await expect(id_card.locator(".card-notice")).to_have_text("已取消上传。")
    await expect(progress).to_have_count(0)
    await screenshot(page, "upload_cancelled")
    with service.db():
        assert not await Attachment.filter(candidate_id=row.id).exists()

    # on a working line the same card takes the picture
    relay.set_line(Line.UP)
    await id_card.locator("input[type=file]").set_input_files(jpeg_file("front.jpg", document_photo(51)))
    await page.locator("dialog.dialog[open]").get_by_role("button", name="确认上传").click()
    await expect(id_card.locator("figure.picture")).to_have_count(1)
    with service.db():
        assert await Attachment.filter(candidate_id=row.id).count() == 1
    await screenshot(page, "upload_after_cancel")
    assert errors.unexpected(*NETWORK_NOISE) == []


@pytest.fixture
async def own_service(tmp_path: Path) -> AsyncIterator[Service]:
    """A service whose pictures live in a folder of this test, so the test can break it."""
    running = await start_service(test_settings(tmp_path, storage_url=f"file://{tmp_path}/files"))
    (tmp_path / "examples").mkdir()
    await load_demo_categories(running, tmp_path / "examples")
    yield running
    await running.stop()


async def test_a_server_failure_shows_the_id_of_its_log_line(
    own_service: Service, tmp_path: Path, context: BrowserContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="exam_review.requests")
    row = await make_candidate(own_service)
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, own_service.base_url, row.username, PASSWORD)
    id_card = card(page, "ID")

    broken = tmp_path / "files" / "pictures"
    broken.write_bytes(b"")  # where pictures go is not a folder any more: a disk gone wrong
    await id_card.locator("input[type=file]").set_input_files(jpeg_file("front.jpg", document_photo(52)))
    await page.locator("dialog.dialog[open]").get_by_role("button", name="确认上传").click()
    banner = page.locator("#banner")
    await expect(banner).to_contain_text("服务器内部错误，请稍后重试。")
    request_id = (await banner.locator(".request-id").inner_text()).split("：", 1)[1].split("（")[0]
    await screenshot(page, "server_failure_request_id")
    # What the candidate reads off the page finds the request's line in the log.
    [line] = [line for line in log_lines(caplog.records) if line["request_id"] == request_id]
    assert line["outcome"] == "server_error" and line["viewer_id"] == row.id
    assert line["operation"] == "UploadAttachment"

    broken.unlink()
    await banner.get_by_role("button", name="重试").click()
    await expect(banner).to_be_hidden()
    await expect(id_card.locator("figure.picture")).to_have_count(1)
    with own_service.db():
        assert await Attachment.filter(candidate_id=row.id).count() == 1
    # The page's operations are named: /metrics shows each, failures apart.
    scraped = await scrape(own_service.base_url)
    requests = "exam_review_graphql_requests_total"
    assert scraped.value(requests, operation="UploadAttachment", outcome="server_error") == 1
    assert scraped.value(requests, operation="UploadAttachment", outcome="ok") == 1
    assert scraped.value(requests, operation="Me", type="query", outcome="ok") >= 1
    assert errors.unexpected() == []

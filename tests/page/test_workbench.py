"""「审核台」, the examiners' workbench inside GraphiQL, in real Chromium against a real service.

GraphiQL's own chrome (a vendored bundle) does not pass axe, so each screenshot's accessibility
check covers the workbench panel only (`include=PANEL`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, Request, Route, expect

from models import Attachment, Candidate, MaterialCategory, Session, StaffUser
from models.enums import AttachmentVerdict, ReviewStatus
from resolvers.events import queue_topic
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.factories import (
    PASSWORD,
    load_demo_categories,
    make_candidate,
    make_staff,
    unique,
)
from tests.helpers.flows import fill_required, submit
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as settings_for
from tests.helpers.waiting import subscribed
from tests.page.conftest import PageErrors, open_context, screenshot, sign_in
from tests.page.workbench import (
    PANEL,
    open_workbench,
    pictures_painted,
    sign_in_panel,
    signed_in_workbench,
    stored,
)

HEADERS = ".graphiql-editor-tool .graphiql-editor:nth-of-type(2) .CodeMirror"
RESULT = ".result-window .CodeMirror"


@dataclass
class Desk:
    """A unique region and site: examiners there see only the candidates made here."""

    service: Service
    region: str
    site: str

    async def examiner(self) -> StaffUser:
        return await make_staff(self.service, region=self.region, site=self.site)

    async def waiting(self) -> Candidate:
        """A candidate with every required picture uploaded through the API, then submitted."""
        row = await make_candidate(self.service, region=self.region, site=self.site)
        client = await signed_in(self.service, row.username)
        try:
            await fill_required(client)
            await submit(client)
        finally:
            await client.aclose()
        return row


@pytest.fixture
async def desk(service: Service, categories: dict[str, MaterialCategory]) -> Desk:
    return Desk(service, unique("审核台区"), unique("考点"))


async def editor_text(page: Page, selector: str) -> str:
    return await page.evaluate("(s) => document.querySelector(s).CodeMirror.getValue()", selector)


def history(page: Page) -> Any:
    return page.evaluate("JSON.parse(localStorage.getItem('graphiql:queries') || '{\"queries\": []}').queries")


async def test_sign_in_and_out_through_the_panel(desk: Desk, context: BrowserContext) -> None:
    staff = await desk.examiner()
    page = await context.new_page()
    errors = PageErrors(page)
    await open_workbench(page, desk.service.base_url)
    panel = page.locator(PANEL)
    await expect(panel.get_by_role("heading", name="考务人员登录")).to_be_visible()
    await screenshot(page, "workbench_sign_in", include=PANEL)

    await sign_in_panel(page, staff.username, "not-the-password")
    await expect(panel.get_by_role("alert")).to_have_text("用户名或密码错误。")
    await screenshot(page, "workbench_wrong_password", include=PANEL)

    await sign_in_panel(page, staff.username)
    await expect(panel.get_by_text("实时更新中")).to_be_visible()
    await expect(panel.locator(".wb-scope")).to_contain_text(f"{desk.region} · {desk.site}")
    await screenshot(page, "workbench_queue_empty", include=PANEL)

    # The token is in GraphiQL's own Headers editor, in every tab: the ReviewQueue tab just runs.
    token = json.loads(await editor_text(page, HEADERS))["Authorization"].removeprefix("Bearer ")
    assert token.startswith("v1.")
    await page.locator(".graphiql-tab").nth(1).click()
    assert json.loads(await editor_text(page, HEADERS)) == {"Authorization": f"Bearer {token}"}
    result = page.locator(".result-window")
    for _ in range(20):  # GraphiQL picks the operation name up after a debounce
        await page.locator(".graphiql-execute-button").click()
        if '"totalCount"' in await editor_text(page, RESULT):
            break
        await page.wait_for_timeout(250)
    await expect(result).to_contain_text('"totalCount": 0')
    # What the workbench ran is in GraphiQL's history; the password never is.
    ran = await history(page)
    names = [item["operationName"] for item in ran]
    assert {"Login", "ReviewScope", "WorkbenchQueue", "WorkbenchQueueEvents"} <= set(names)
    login = next(item for item in ran if item["operationName"] == "Login")
    assert json.loads(login["variables"]) == {"username": staff.username, "password": ""}
    assert PASSWORD not in json.dumps(ran)

    # 退出: the session ends, the placeholder is back, the form is back.
    await panel.get_by_role("button", name="退出").click()
    await expect(panel.get_by_role("heading", name="考务人员登录")).to_be_visible()
    assert json.loads(await editor_text(page, HEADERS)) == {"Authorization": "Bearer <token>"}
    after = await desk.service.client(token).execute(op.CATEGORIES)
    assert after.error_codes == ["UNAUTHENTICATED"]

    # An expired (here: revoked) token sends the examiner back to sign-in, said in plain words.
    await sign_in_panel(page, staff.username)
    await expect(panel.get_by_text("实时更新中")).to_be_visible()
    with desk.service.db():
        await Session.filter(staff_id=staff.id).update(revoked_at=datetime.now(UTC))
    await panel.get_by_role("button", name="下一位").click()
    await expect(panel.get_by_role("heading", name="考务人员登录")).to_be_visible()
    await expect(panel.get_by_role("alert")).to_have_text("登录已过期，请重新登录。")
    await screenshot(page, "workbench_signed_out_expired", include=PANEL)
    # Expected noise: the tab's early runs may send the previous operation name (400, see the
    # retry loop above), and the revoked session's socket is refused.
    assert errors.unexpected(r"status of 400 \(Bad Request\)", r"WebSocket", r"Socket closed") == []


async def test_two_examiners_pressing_next_at_once_get_different_candidates(
    desk: Desk, browser: Browser
) -> None:
    first_staff, second_staff = await desk.examiner(), await desk.examiner()
    waiting = [await desk.waiting(), await desk.waiting(), await desk.waiting()]
    contexts = [await open_context(browser), await open_context(browser)]
    try:
        pages = [
            await signed_in_workbench(contexts[0], desk.service.base_url, first_staff.username),
            await signed_in_workbench(contexts[1], desk.service.base_url, second_staff.username),
        ]
        for page in pages:
            await expect(page.locator(".wb-queue-row")).to_have_count(3)
        await subscribed(desk.service, queue_topic(desk.region), 2)  # both queues are live
        await asyncio.gather(*(page.keyboard.press("n") for page in pages))
        names: list[str] = []
        for page in pages:
            head = page.locator(".wb-candidate-head")
            await expect(head.locator(".wb-claim")).to_contain_text("我审核中")
            names.append(await head.get_by_role("heading").text_content() or "")
        assert names[0] != names[1]
        with desk.service.db():
            holders = {
                row.name: row.claim_staff_id
                for row in await Candidate.filter(id__in=[c.id for c in waiting])
            }
        assert holders[names[0]] == first_staff.id and holders[names[1]] == second_staff.id
        await screenshot(pages[0], "workbench_next_claimed", include=PANEL)

        # Back in the queue, who holds what shows live: the other examiner's claim, and mine.
        first = pages[0]
        await first.keyboard.press("q")
        other_row = first.locator(".wb-queue-row", has_text=names[1])
        await expect(other_row).to_contain_text(f"{second_staff.name}审核中")
        await expect(first.locator(".wb-queue-row", has_text=names[0])).to_contain_text("我审核中")
        await screenshot(first, "workbench_queue_claims", include=PANEL)

        # Opening the other's candidate: looking is fine, deciding is refused, in Chinese.
        await other_row.click()
        alert = first.locator(PANEL).get_by_role("alert")
        await expect(alert).to_contain_text(f"该考生正由{second_staff.name}审核")
        await expect(first.locator(".wb-claim-other")).to_contain_text(f"{second_staff.name}审核中")
        await pictures_painted(first, 4)
        await first.locator(PANEL).get_by_role("button", name="知道了").click()
        await expect(first.locator(".wb-notice-error")).to_have_count(0)
        await first.keyboard.press("p")
        confirm = first.get_by_role("dialog", name="确认通过")
        await confirm.get_by_role("button", name="确认通过").click()
        await expect(confirm).to_have_count(0)
        await expect(alert).to_contain_text(f"该考生正由{second_staff.name}审核")
        await screenshot(first, "workbench_claimed_by_other", include=PANEL)
        taken = next(c for c in waiting if c.name == names[1])
        assert (await stored(desk.service, taken)).status == ReviewStatus.SUBMITTED
    finally:
        for context in contexts:
            await context.close()


async def test_an_examiner_approves_by_keyboard_alone(desk: Desk, context: BrowserContext) -> None:
    staff = await desk.examiner()
    candidate = await desk.waiting()
    page = await signed_in_workbench(context, desk.service.base_url, staff.username)
    errors = PageErrors(page)
    panel = page.locator(PANEL)
    await expect(page.locator(".wb-queue-row")).to_have_count(1)

    keys: list[str] = []

    async def press(key: str) -> None:
        keys.append(key)
        await page.keyboard.press(key)

    # 「?」 lists the keys (not counted: the examiner knows them by now).
    await page.keyboard.press("?")
    keys_dialog = page.get_by_role("dialog", name="快捷键")
    await expect(keys_dialog).to_contain_text("下一位：认领队列中最早提交、无人审核的考生")
    await screenshot(page, "workbench_keys", include=PANEL)
    await page.keyboard.press("Escape")
    await expect(keys_dialog).to_have_count(0)

    await press("n")  # claim the next candidate
    await pictures_painted(page, 4)
    for number in (1, 2):
        await expect(panel.get_by_role("img", name=f"身份证明 第 {number} 张")).to_be_visible()
    await expect(panel.get_by_role("img", name="学历证明 第 1 张")).to_be_visible()
    await screenshot(page, "workbench_candidate", include=PANEL)
    await press("a")  # every picture 合格; typed ahead, the next keys wait their turn
    await press("p")  # 通过…
    await expect(page.get_by_role("dialog", name="确认通过")).to_be_visible()
    await expect(panel.locator(".wb-card.wb-verdict-accepted")).to_have_count(4)
    await screenshot(page, "workbench_confirm_approve", include=PANEL)
    await press("Enter")  # …confirmed once
    await expect(panel.get_by_role("status").filter(has_text="已通过")).to_contain_text(candidate.name)
    await screenshot(page, "workbench_approved", include=PANEL)

    assert len(keys) <= 6
    print(f"\nkeystrokes per approval: {len(keys)} ({' '.join(keys)})")
    row = await stored(desk.service, candidate)
    assert row.status == ReviewStatus.APPROVED
    with desk.service.db():
        verdicts = set(await Attachment.filter(candidate_id=candidate.id).values_list("verdict", flat=True))
    assert verdicts == {AttachmentVerdict.ACCEPTED}
    # Each call was an ordinary operation, there to re-run from GraphiQL's history.
    names = [item["operationName"] for item in await history(page)]
    for name in ("ClaimNext", "SetAttachmentVerdict", "ApproveCandidate"):
        assert name in names
    assert errors.unexpected() == []


async def test_a_return_with_a_reason_reaches_the_candidates_open_page(
    desk: Desk, categories: dict[str, MaterialCategory], browser: Browser
) -> None:
    staff = await desk.examiner()
    candidate = await desk.waiting()
    own_context, examiner_context = await open_context(browser), await open_context(browser)
    try:
        own_page = await own_context.new_page()
        await sign_in(own_page, desk.service.base_url, candidate.username, PASSWORD)
        await expect(own_page.locator("#status")).to_have_text("已提交")

        page = await signed_in_workbench(examiner_context, desk.service.base_url, staff.username)
        errors = PageErrors(page)
        panel = page.locator(PANEL)
        await page.keyboard.press("n")
        await pictures_painted(page, 4)
        diploma = panel.locator(".wb-card", has=page.get_by_role("img", name="学历证明 第 1 张"))
        await diploma.get_by_role("button", name="需更换").click()
        await diploma.get_by_role("checkbox", name="模糊不清").check()
        await diploma.get_by_label("备注").fill("毕业证书反光")
        await screenshot(page, "workbench_needs_replacement", include=PANEL)
        await diploma.get_by_role("button", name="保存「需更换」").click()
        await expect(diploma.locator(".wb-verdict")).to_have_text("需更换")
        await expect(diploma).to_contain_text("原因：模糊不清；毕业证书反光")

        await page.keyboard.press("t")
        dialog = page.get_by_role("dialog", name="退回修改")
        message = dialog.get_by_label("退回说明")
        await expect(message).to_have_value(
            "您的报名材料以下照片不符合要求，请删除后重新上传：\n"
            "1. 学历证明（第 1 张）：模糊不清；毕业证书反光。\n"
            "请在 24 小时之内处理并重新提交审核。"
        )
        await expect(dialog.get_by_role("checkbox", name="学历证明")).to_be_checked()
        await expect(dialog.get_by_role("checkbox", name="身份证明")).not_to_be_checked()
        await screenshot(page, "workbench_return_dialog", include=PANEL)
        await dialog.get_by_role("button", name="确认退回").click()
        await expect(panel.get_by_role("status").filter(has_text="已退回修改")).to_be_visible()

        # The candidate's open page: the message arrives live, only 学历证明 is unlocked.
        first_message = own_page.locator(".message-list .message").first
        await expect(first_message).to_contain_text("1. 学历证明（第 1 张）：模糊不清；毕业证书反光。")
        await expect(own_page.locator("#status")).to_have_text("已退回")
        edu = own_page.locator('article.material[data-category="EDU"]')
        await expect(edu.locator("button.remove")).to_have_count(1)
        await expect(edu.locator(".verdict-note")).to_contain_text("毕业证书反光")
        id_card = own_page.locator('article.material[data-category="ID"]')
        await expect(id_card.locator(".material-state")).to_contain_text("已锁定")
        await screenshot(own_page, "workbench_return_on_candidate_page")
        row = await stored(desk.service, candidate)
        assert row.status == ReviewStatus.RETURNED
        assert row.unlocked_category_ids == [categories["EDU"].id]
        assert errors.unexpected() == []
    finally:
        await own_context.close()
        await examiner_context.close()


async def test_rotating_and_zooming_leave_the_stored_bytes_unchanged(
    desk: Desk, context: BrowserContext
) -> None:
    staff = await desk.examiner()
    candidate = await desk.waiting()
    with desk.service.db():
        before = {
            str(a.id): (a.sha256, await desk.service.services.store.get(a.storage_key))
            for a in await Attachment.filter(candidate_id=candidate.id)
        }
    page = await signed_in_workbench(context, desk.service.base_url, staff.username)
    errors = PageErrors(page)
    await page.keyboard.press("n")
    await pictures_painted(page, 4)
    await page.keyboard.press("Enter")  # the first picture, large
    viewer = page.get_by_role("dialog", name="身份证明 第 1 张（1 / 4）")
    shown = viewer.get_by_role("img", name="身份证明 第 1 张")
    await expect(shown).to_be_visible()
    fitted = await viewer.get_by_role("status").text_content()
    for key in ("r", "+", "+", "-", "+"):
        await page.keyboard.press(key)
    await expect(viewer.get_by_role("status")).to_contain_text("旋转 90°")
    assert await viewer.get_by_role("status").text_content() != fitted
    await shown.hover()
    await page.mouse.wheel(0, -300)  # zoom in under the pointer
    transform = await shown.evaluate("(img) => img.style.transform")
    assert "rotate(90deg)" in transform and "scale(" in transform
    await screenshot(page, "workbench_viewer_rotated", include=PANEL)
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("dialog", name="身份证明 第 2 张（2 / 4）")).to_be_visible()
    await page.keyboard.press("0")
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_have_count(0)

    # Everything above changed the view only: the same bytes, by the API's sha256 and by address.
    client = desk.service.client()
    examiner = await client.login(staff.username, PASSWORD)
    await client.aclose()
    try:
        result = await examiner.execute(op.CANDIDATE, {"id": str(candidate.id)})
        pictures = [a for m in result.data["candidate"]["materials"] for a in m["attachments"]]  # type: ignore[index]
    finally:
        await examiner.aclose()
    assert {p["id"] for p in pictures} == set(before)
    async with httpx.AsyncClient() as http:
        for picture in pictures:
            sha256, data = before[picture["id"]]
            assert picture["sha256"] == sha256 == hashlib.sha256(data).hexdigest()
            served = await http.get(picture["url"])
            assert hashlib.sha256(served.content).hexdigest() == sha256
    assert errors.unexpected() == []


@pytest.fixture
async def short_lived_pictures(tmp_path: Path) -> AsyncIterator[Service]:
    """A service of its own whose picture addresses last one second, with the demo's categories."""
    own = await start_service(settings_for(tmp_path, picture_url_ttl_seconds=1))
    (tmp_path / "examples").mkdir()
    await load_demo_categories(own, tmp_path / "examples")
    yield own
    await own.stop()


def operations_sent(page: Page) -> list[str]:
    """Names of the GraphQL operations the page sends over HTTP, as they go."""
    sent: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/graphql") and request.post_data:
            sent.append(json.loads(request.post_data).get("operationName") or "")

    page.on("request", note)
    return sent


async def test_an_expired_picture_address_is_read_again_never_shown_broken(
    short_lived_pictures: Service, context: BrowserContext
) -> None:
    service = short_lived_pictures
    desk = Desk(service, unique("过期区"), unique("考点"))
    staff = await desk.examiner()
    await desk.waiting()
    page = await signed_in_workbench(context, service.base_url, staff.username)
    errors = PageErrors(page)
    sent = operations_sent(page)
    # The first request for each picture is held until its signed address has lapsed, so the
    # real service refuses it (403) and the workbench has to read fresh addresses.
    held: set[str] = set()
    refused: list[str] = []

    async def hold_first(route: Route) -> None:
        path = route.request.url.split("?")[0]
        if path not in held:
            held.add(path)
            await asyncio.sleep(1.5)
        await route.continue_()

    page.on("response", lambda r: refused.append(r.url) if "/pictures/" in r.url and r.status == 403 else None)
    await page.route("**/pictures/**", hold_first)
    await page.keyboard.press("n")
    await pictures_painted(page, 4)
    await expect(page.locator(".wb-broken")).to_have_count(0)
    assert refused  # the lapsed addresses really were refused by the service
    assert sent.count("WorkbenchCandidate") >= 1  # and read again (claimNext brought the first)
    await screenshot(page, "workbench_pictures_read_again", include=PANEL)
    assert errors.unexpected(r"403 \(Forbidden\)") == []

"""The candidate page in headless Chromium against a real service: the flow of the official guide."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image
from playwright.async_api import Browser, BrowserContext, FilePayload, Locator, Page, expect

from models import Attachment, MaterialCategory, ReviewMessage
from models.enums import ReviewStatus
from tests.helpers import operations as op
from tests.helpers.accounts import signed_in
from tests.helpers.client import FilePart
from tests.helpers.documents import document_photo
from tests.helpers.factories import PASSWORD, make_candidate, make_staff, unique
from tests.helpers.pictures import gif, photo, small_jpeg
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as settings_for
from tests.page.conftest import (
    PHONE,
    PageErrors,
    card,
    jpeg_file,
    open_context,
    screenshot,
    sign_in,
)

LOCK_LINE = re.compile(r"^\d{4}/\d{1,2}/\d{1,2} \d{2}:\d{2}:\d{2} 上报完成，内容已锁定。$")


async def choose_and_confirm(page: Page, code: str, name: str, data: bytes) -> Locator:
    """Pick a file for a category's slot, check the preview, confirm; returns the preview dialog."""
    await card(page, code).locator("input[type=file]").set_input_files(jpeg_file(name, data))
    dialog = page.locator("dialog.dialog[open]")
    await expect(dialog.locator(".preview-image")).to_be_visible()
    await dialog.get_by_role("button", name="确认上传").click()
    await expect(dialog).to_have_count(0)
    return dialog


async def stored(service: Service, candidate_id: int, category: MaterialCategory) -> list[Attachment]:
    with service.db():
        return await Attachment.filter(candidate_id=candidate_id, category_id=category.id).order_by("slot")


async def upload_through_api(service: Service, username: str, category: MaterialCategory, seed: int) -> None:
    client = await signed_in(service, username)
    try:
        part = {"file": FilePart(f"p{seed}.jpg", small_jpeg(seed), "image/jpeg")}
        result = await client.upload(op.UPLOAD, {"categoryId": str(category.id)}, part)
        assert result.payload("uploadAttachment")["errors"] == []
    finally:
        await client.aclose()


async def test_sign_in_profile_upload_and_delete(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    row = await make_candidate(service, profile=False)
    page = await context.new_page()
    errors = PageErrors(page)

    # a wrong password is told in plain words; the page stays on the sign-in form
    await page.goto(service.base_url + "/")
    await expect(page.get_by_role("heading", name="考生登录")).to_be_visible()
    await screenshot(page, "candidate_sign_in")
    await page.get_by_label("用户名").fill(row.username)
    await page.get_by_label("密码").fill("not-the-password")
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
    await screenshot(page, "candidate_wrong_password")

    # the right one opens the page; an incomplete profile comes first
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    profile = page.locator("#profile")
    await expect(profile.get_by_role("heading", name="完善个人信息")).to_be_visible()
    await expect(profile).to_contain_text("审核结果会以短信发送到这个手机号码")
    await expect(page.locator("#materials")).to_contain_text("完善个人信息后即可上传材料")
    assert await page.evaluate("sessionStorage.getItem('exam-review.token')")
    await screenshot(page, "candidate_profile_first")

    # the server's field errors show under the field at fault
    await page.locator("#phone").fill("12345")
    await page.locator("#address").fill("济南市历下区经十路 1 号")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator("#phone-errors")).to_have_text("手机号码应为 11 位大陆手机号，以 1 开头。")
    await expect(page.locator("#phone")).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#phone")).to_have_attribute("aria-describedby", "phone-hint phone-errors")
    await screenshot(page, "candidate_profile_errors")
    await page.locator("#phone").fill("13912345678")
    await page.get_by_role("button", name="保存").click()
    await expect(page.locator("#profile")).to_have_count(0)
    await expect(page.locator(".profile-line")).to_contain_text("手机号码：13912345678")

    # the registration header, in plain words
    header = page.locator("#registration")
    for text in ("2020110 临床执业医师", row.name, row.admission_no, "山东省", "济南", "报名", "2026/3/1 09:30:00"):
        await expect(header).to_contain_text(text)
    await expect(page.locator("#status")).to_have_text("未提交")
    await expect(page.locator("#lock")).to_have_text("未锁定")

    # four cards, * on the required ones, instructions and the example picture
    await expect(page.locator("article.material")).to_have_count(4)
    id_card = card(page, "ID")
    await expect(id_card.locator("h3")).to_have_text("*身份证明")
    await expect(card(page, "ASSISTANT_CERT").locator(".req")).to_have_count(0)
    await expect(id_card).to_contain_text("请上传与报名相一致的有效身份证件正反面照片")
    await expect(id_card.locator("figure.example figcaption")).to_have_text("示例")
    # The example is loaded lazily: wait (bounded) until it has painted, then it has a width.
    example = await id_card.locator("figure.example img").element_handle()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=example)
    await screenshot(page, "candidate_materials")

    # front, then back; after the first the slot says 可传下一张, after the second it is gone
    dialog_text = ""
    await id_card.locator("input[type=file]").set_input_files(jpeg_file("front.jpg", document_photo(11)))
    dialog = page.locator("dialog.dialog[open]")
    await expect(dialog.locator(".size-after")).to_contain_text("无需处理")
    dialog_text = await dialog.inner_text()
    await screenshot(page, "candidate_preview_as_is")
    await dialog.get_by_role("button", name="确认上传").click()
    await expect(id_card.locator("figure.picture")).to_have_count(1)
    await expect(id_card.locator(".slot")).to_contain_text("可传下一张")
    await choose_and_confirm(page, "ID", "back.jpg", document_photo(12))
    await expect(id_card.locator("figure.picture")).to_have_count(2)
    await expect(id_card.locator(".slot")).to_have_count(0)
    await expect(id_card.locator(".material-state")).to_have_text("2/2 张")
    # a picture opens full size in a dialog named after it
    await id_card.locator("figure.picture .tile-button").first.click()
    viewer = page.get_by_role("dialog", name="「身份证明」第 1 张")
    await expect(viewer.locator("img")).to_be_visible()
    await screenshot(page, "candidate_view_picture")
    await viewer.get_by_role("button", name="关闭").click()
    await expect(page.locator("dialog.dialog[open]")).to_have_count(0)
    assert f"原图大小：{round(len(document_photo(11)) / 1024)} KB" in dialog_text
    # the stored bytes are exactly what was chosen (an upright picture under the limit is sent as is)
    pictures = await stored(service, row.id, categories["ID"])
    assert [p.byte_size for p in pictures] == [len(document_photo(11)), len(document_photo(12))]

    # a file that is not a picture is refused on the spot, in the server's words, and never sent
    edu = card(page, "EDU")
    await edu.locator("input[type=file]").set_input_files(jpeg_file("scan.jpg", b"%PDF-1.7 not a photo"))
    await expect(edu.locator(".card-errors")).to_have_text("文件不是图片，请上传 jpg、png 格式的照片。")
    await edu.locator("input[type=file]").set_input_files(
        FilePayload(name="anim.gif", mimeType="image/gif", buffer=gif())
    )
    await expect(edu.locator(".card-errors")).to_have_text("不支持 GIF 格式，请上传 jpg、png 格式的照片。")
    await screenshot(page, "candidate_refused_file")
    await expect(page.locator("dialog.dialog[open]")).to_have_count(0)
    assert await stored(service, row.id, categories["EDU"]) == []

    # 「−」 asks first: cancelling keeps the picture, confirming deletes it and the slot returns
    first = id_card.locator("figure.picture").first
    await first.get_by_role("button", name="删除「身份证明」第 1 张").click()
    confirm = page.locator("dialog.dialog[open]")
    await expect(confirm).to_contain_text("确定删除「身份证明」第 1 张吗？")
    await screenshot(page, "candidate_confirm_delete")
    await confirm.get_by_role("button", name="取消").click()
    await expect(id_card.locator("figure.picture")).to_have_count(2)
    await first.get_by_role("button", name="删除「身份证明」第 1 张").click()
    await page.locator("dialog.dialog[open]").get_by_role("button", name="删除").click()
    await expect(id_card.locator("figure.picture")).to_have_count(1)
    await expect(id_card.locator(".card-notice")).to_have_text("已删除。")
    await expect(id_card.locator(".slot")).to_contain_text("可传下一张")
    remaining = await stored(service, row.id, categories["ID"])
    assert [p.byte_size for p in remaining] == [len(document_photo(12))]

    await screenshot(page, "candidate_upload_and_delete")
    # 退出 forgets the token and shows the sign-in form again
    await page.get_by_role("button", name="退出").click()
    await expect(page.get_by_role("heading", name="考生登录")).to_be_visible()
    await screenshot(page, "candidate_signed_out")
    assert await page.evaluate("sessionStorage.getItem('exam-review.token')") is None
    assert errors.unexpected() == []


async def test_rate_limited_sign_in_is_explained(browser: Browser, tmp_path: Any) -> None:
    own = await start_service(settings_for(tmp_path, throttle_per_username=2))
    context = await open_context(browser)
    try:
        row = await make_candidate(own)
        page = await context.new_page()
        await page.goto(own.base_url + "/")
        await page.get_by_label("用户名").fill(row.username)
        for _ in range(2):
            await page.get_by_label("密码").fill("wrong")
            await page.get_by_role("button", name="登录").click()
            await expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
            await page.locator("#login-error").evaluate("node => { node.textContent = ''; }")
        # throttled now: even the right password is refused, with the wait in minutes
        await page.get_by_label("密码").fill(PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await expect(page.locator("#login-error")).to_have_text("登录失败次数过多，请 15 分钟后再试。")
        await expect(page.locator("#registration")).to_have_count(0)
        await screenshot(page, "candidate_rate_limited")
    finally:
        await context.close()
        await own.stop()


async def test_big_sideways_photo_is_turned_upright_and_shrunk(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    row = await make_candidate(service)
    # stored 1500 wide and 2000 high, EXIF orientation 6: a person sees it 2000 wide, 1500 high
    original = photo(1500, 2000, quality=86, orientation=6, seed=7)
    assert 550 * 1024 < len(original) < 720 * 1024
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, service.base_url, row.username, PASSWORD)

    edu = card(page, "EDU")
    await edu.locator("input[type=file]").set_input_files(jpeg_file("diploma.jpg", original))
    dialog = page.locator("dialog.dialog[open]")
    await expect(dialog.locator(".size-before")).to_have_text(f"原图大小：{round(len(original) / 1024)} KB")
    await expect(dialog.locator(".size-after")).to_contain_text("已按拍摄方向转正，已压缩到 200 KB 以内")
    shown = await dialog.locator(".preview-image").element_handle()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=shown)
    preview = await dialog.locator(".preview-image").evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert preview[0] > preview[1]  # the person already sees it upright before sending
    await screenshot(page, "candidate_preview_before_upload")
    await dialog.get_by_role("button", name="确认上传").click()
    await expect(edu.locator("figure.picture")).to_have_count(1)
    await expect(edu.locator(".card-notice")).to_contain_text("上传成功")

    [picture] = await stored(service, row.id, categories["EDU"])
    assert picture.byte_size <= 204800
    assert picture.width > picture.height
    # the bytes themselves are upright: no orientation tag left to apply
    async with httpx.AsyncClient() as http:
        me = (await (await signed_in(service, row.username)).execute(op.ME)).payload("me")
        url = next(m for m in me["materials"] if m["category"]["code"] == "EDU")["attachments"][0]["url"]
        data = (await http.get(url)).content
    assert len(data) == picture.byte_size
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.getexif().get(0x0112, 1) == 1
        assert image.width > image.height
        assert (image.width, image.height) == (preview[0], preview[1])

    await screenshot(page, "candidate_big_photo_uploaded")
    assert errors.unexpected() == []


async def test_submit_locks_and_a_return_arrives_live(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    row = await make_candidate(service)
    staff = await make_staff(service)
    for seed, code in enumerate(("ID", "ID", "EDU", "PROBATION"), start=21):
        await upload_through_api(service, row.username, categories[code], seed)
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, service.base_url, row.username, PASSWORD)

    await page.get_by_role("button", name="提交审核").click()
    confirm = page.locator("dialog.dialog[open]")
    await expect(confirm).to_contain_text("全部材料将被锁定")
    await screenshot(page, "candidate_confirm_submit")
    await confirm.get_by_role("button", name="确定提交").click()

    await expect(page.locator("#lock-line")).to_have_text(LOCK_LINE)
    await expect(page.locator("#status")).to_have_text("已提交")
    await expect(page.locator("#lock")).to_contain_text("已锁定")
    await expect(page.get_by_role("button", name="提交审核")).to_have_count(0)
    await expect(page.locator(".slot")).to_have_count(0)
    await expect(page.locator("button.remove")).to_have_count(0)
    await expect(page.locator("figure.picture .tile-lock")).to_have_count(4)
    first_message = page.locator(".message-list .message").first
    await expect(first_message).to_contain_text("上报完成，内容已锁定。")
    await screenshot(page, "candidate_submitted")
    await page.evaluate("window.sameDocument = true")

    # an examiner judges the back of the ID card and returns 身份证明 only
    examiner = await signed_in(service, staff.username)
    try:
        [_, back] = await stored(service, row.id, categories["ID"])
        verdict = await examiner.execute(
            op.VERDICT, {"id": str(back.id), "verdict": "NEEDS_REPLACEMENT", "note": "反面模糊"}
        )
        assert verdict.payload("setAttachmentVerdict")["errors"] == []
        returned = await examiner.execute(
            op.RETURN,
            {"id": str(row.id), "message": "身份证反面模糊，请重新上传。", "categoryIds": [str(categories["ID"].id)]},
        )
        assert returned.payload("returnForCorrection")["errors"] == []
    finally:
        await examiner.aclose()

    # it arrives on the open page, newest first and unread, with the status and the unlocked card
    await expect(first_message).to_contain_text("身份证反面模糊，请重新上传。")
    await expect(first_message).to_have_attribute("data-kind", "RETURNED")
    await expect(first_message.locator(".unread-badge")).to_have_text("未读")
    await expect(first_message).to_contain_text(staff.name)
    await expect(page.locator("#status")).to_have_text("已退回")
    await expect(page.locator("#lock")).to_have_text("未锁定")
    await expect(page.locator("#lock-line")).to_contain_text("材料已退回")
    id_card = card(page, "ID")
    await expect(id_card.locator("button.remove")).to_have_count(2)
    await expect(id_card.locator(".verdict-note")).to_have_text("需重新上传：反面模糊")
    await expect(card(page, "EDU").locator(".material-state")).to_contain_text("已锁定")
    await expect(card(page, "EDU").locator("button.remove")).to_have_count(0)
    await expect(page.get_by_role("button", name="提交审核")).to_be_visible()
    assert await page.evaluate("window.sameDocument") is True  # no reload happened

    await screenshot(page, "candidate_live_return")
    await page.get_by_role("button", name="全部标为已读").click()
    await expect(page.locator(".unread-badge")).to_have_count(0)
    await screenshot(page, "candidate_all_read")
    with service.db():
        assert not await ReviewMessage.filter(candidate_id=row.id, read_at=None).exists()
    assert errors.unexpected() == []


async def test_submit_problems_show_next_to_their_card_and_field(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    row = await make_candidate(service)
    await upload_through_api(service, row.username, categories["ID"], 31)
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, service.base_url, row.username, PASSWORD)

    await page.get_by_role("button", name="提交审核").click()
    await page.locator("dialog.dialog[open]").get_by_role("button", name="确定提交").click()
    await expect(card(page, "ID").locator(".card-errors")).to_have_text(
        "「身份证明」为必传材料，至少需要 2 张，目前 1 张。"
    )
    await expect(card(page, "EDU").locator(".card-errors")).to_have_text(
        "「学历证明」为必传材料，至少需要 1 张，目前 0 张。"
    )
    await expect(card(page, "PROBATION").locator(".card-errors")).to_contain_text("「试用期考核证明」为必传材料")
    await expect(card(page, "ASSISTANT_CERT").locator(".card-errors")).to_have_count(0)
    await expect(page.locator("#status")).to_have_text("未提交")
    await expect(page.locator("#lock")).to_have_text("未锁定")
    await screenshot(page, "candidate_submit_errors")
    assert errors.unexpected() == []


async def test_submit_without_profile_points_at_the_fields(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    row = await make_candidate(service, profile=False)
    page = await context.new_page()
    await page.goto(service.base_url + "/")
    await page.get_by_label("用户名").fill(row.username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_role("button", name="提交审核").click()
    await page.locator("dialog.dialog[open]").get_by_role("button", name="确定提交").click()
    await expect(page.locator("#phone-errors")).to_have_text("请先填写手机号码。")
    await expect(page.locator("#address-errors")).to_have_text("请先填写联系地址。")
    await screenshot(page, "candidate_submit_without_profile")


async def test_phone_sized_screen(
    service: Service, categories: dict[str, MaterialCategory], browser: Browser
) -> None:
    row = await make_candidate(service)
    staff = await make_staff(service)
    await upload_through_api(service, row.username, categories["ID"], 41)
    examiner = await signed_in(service, staff.username)
    try:
        sent = await examiner.execute(op.FEEDBACK, {"id": str(row.id), "body": "请尽快上传学历证明。"})
        assert sent.payload("sendFeedback")["errors"] == []
    finally:
        await examiner.aclose()
    context = await open_context(browser, PHONE)
    try:
        page = await context.new_page()
        errors = PageErrors(page)
        await page.goto(service.base_url + "/")
        await expect(page.get_by_role("heading", name="考生登录")).to_be_visible()
        await screenshot(page, "candidate_phone_sign_in")
        await sign_in(page, service.base_url, row.username, PASSWORD)
        await expect(page.locator(".message-list")).to_contain_text("请尽快上传学历证明。")
        # the preview dialog fits the phone too; cancelling it sends nothing
        await card(page, "EDU").locator("input[type=file]").set_input_files(jpeg_file("x.jpg", document_photo(43)))
        await expect(page.locator("dialog.dialog[open] .preview-image")).to_be_visible()
        await screenshot(page, "candidate_phone_preview")
        await page.locator("dialog.dialog[open]").get_by_role("button", name="取消").click()
        await expect(page.locator("dialog.dialog[open]")).to_have_count(0)
        await choose_and_confirm(page, "ID", "back.jpg", document_photo(42))
        await expect(card(page, "ID").locator("figure.picture")).to_have_count(2)
        # nothing is wider than the phone: no sideways scrolling
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"]
        box = await page.get_by_role("button", name="提交审核").bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"]
        await screenshot(page, "candidate_phone")
        assert errors.unexpected() == []
    finally:
        await context.close()


def estimate_words(position: dict[str, Any]) -> str:
    """The page's wording, from the API's own figures, in Beijing time."""
    ahead = f"您前面还有 {position['ahead']} 位考生等待审核"
    if position["estimatedReviewBy"] is None:
        return f"{ahead}。"
    at = datetime.fromisoformat(position["estimatedReviewBy"]).astimezone(ZoneInfo("Asia/Shanghai"))
    return f"{ahead}，预计 {at.month}月{at.day}日 {at:%H:%M} 前完成。"


async def test_queue_position_shows_while_submitted_and_is_read_once_a_minute(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    region, site = unique("排队区"), unique("排队点")
    start = datetime.now(UTC) - timedelta(hours=1)
    earlier = [
        await make_candidate(
            service, region=region, site=site, status=ReviewStatus.SUBMITTED,
            submitted_at=start + timedelta(minutes=n), queue_at=start + timedelta(minutes=n),
        )
        for n in range(3)
    ]
    staff = await make_staff(service, region=region, site=site)
    row = await make_candidate(service, region=region, site=site)
    for seed, code in enumerate(("ID", "ID", "EDU", "PROBATION"), start=61):
        await upload_through_api(service, row.username, categories[code], seed)
    examiner = await signed_in(service, staff.username)
    me = await signed_in(service, row.username)

    async def approve(candidate_id: int) -> None:
        payload = (await examiner.execute(op.APPROVE, {"id": str(candidate_id), "message": None}))
        assert payload.payload("approveCandidate")["errors"] == []

    async def position() -> dict[str, Any]:
        result = await me.execute(op.MY_QUEUE_POSITION)
        assert result.data is not None
        return result.data["me"]["queuePosition"]

    page = await context.new_page()
    errors = PageErrors(page)
    reads: list[str] = []
    page.on(
        "request",
        lambda request: reads.append(request.url)
        if "query QueuePosition" in (request.post_data or "") else None,
    )
    await page.clock.install()
    try:
        await sign_in(page, service.base_url, row.username, PASSWORD)
        await expect(page.locator("#queue-position")).to_have_count(0)  # DRAFT: no position
        await page.get_by_role("button", name="提交审核").click()
        await page.locator("dialog.dialog[open]").get_by_role("button", name="确定提交").click()
        # Three wait before this candidate; no decision at the site yet, so no estimate.
        line = page.locator("#queue-position")
        await expect(line).to_have_text("您前面还有 3 位考生等待审核。")

        # A decision sets the site's pace; the page learns of it at its next minute.
        await approve(earlier[0].id)
        assert (await position())["ahead"] == 2
        await expect(line).to_have_text("您前面还有 3 位考生等待审核。")
        assert reads == []  # not read again before the minute is up
        before = estimate_words(await position())
        await page.clock.fast_forward("01:01")
        await expect(line).to_have_text(re.compile(r"^您前面还有 2 位考生等待审核，预计 \d+月\d+日 \d\d:\d\d 前完成。$"))
        # The estimate is promised to the minute: the page's read and ours may straddle one.
        assert await line.inner_text() in {before, estimate_words(await position())}
        assert len(reads) == 1
        await screenshot(page, "candidate_queue_position")
    finally:
        await examiner.aclose()
        await me.aclose()
    assert errors.unexpected() == []

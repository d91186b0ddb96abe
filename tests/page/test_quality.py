"""client/js/quality.js in headless Chromium: a blurred photo is flagged in the preview before it
is sent, the candidate may choose again or send it anyway, and the card then shows what the
service measured."""

from __future__ import annotations

import pytest
from playwright.async_api import BrowserContext, FilePayload, Locator, Page, expect

from models import Attachment, MaterialCategory
from storage.images import PictureRules, inspect_picture
from tests.helpers.documents import Shot, diploma, document_photo, id_card, photograph
from tests.helpers.factories import PASSWORD, make_candidate
from tests.helpers.service import Service
from tests.page.conftest import PageErrors, screenshot, sign_in

NOTICES = [
    "提示：考生所上传材料照片需保证信息真实、准确、完整、有效。如有虚假材料，将按照《医师资格考试违纪违规规定》相关条款进行处理。",
    "注意：带有*号的为必须上传的项目。",
]


def jpeg_file(name: str, data: bytes) -> FilePayload:
    return FilePayload(name=name, mimeType="image/jpeg", buffer=data)


def card(page: Page, code: str) -> Locator:
    return page.locator(f'article.material[data-category="{code}"]')


async def test_blurred_photo_is_flagged_before_it_is_sent(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    row = await make_candidate(service)
    page = await context.new_page()
    errors = PageErrors(page)
    await sign_in(page, service.base_url, row.username, PASSWORD)
    await expect(page.locator("#materials .notices p")).to_have_text(NOTICES)

    # A blurred diploma: the preview says so, and offers to choose again or send anyway.
    edu = card(page, "EDU")
    await edu.locator("input[type=file]").set_input_files(
        jpeg_file("blurred.jpg", document_photo(81, "diploma", blur=4))
    )
    dialog = page.locator("dialog.dialog[open]")
    await expect(dialog.locator(".quality-warning")).to_have_text("照片可能模糊，建议重新拍摄。")
    await expect(dialog.get_by_role("button", name="确认上传")).to_have_count(0)
    await screenshot(page, "candidate_blurred_photo_warning")

    # 重新选择 opens the file chooser again; a sharp photo then goes up without a word.
    async with page.expect_file_chooser() as chooser_info:
        await dialog.get_by_role("button", name="重新选择").click()
    chooser = await chooser_info.value
    await chooser.set_files(jpeg_file("sharp.jpg", document_photo(81, "diploma", retake=1)))
    await expect(dialog.locator(".hint")).to_contain_text("请确认照片清晰")
    await expect(dialog.locator(".quality-warning")).to_have_count(0)
    await dialog.get_by_role("button", name="确认上传").click()
    await expect(edu.locator("figure.picture")).to_have_count(1)
    await expect(edu.locator(".quality-warning")).to_have_count(0)

    # 仍然上传 sends the blurred one; the card shows what the service measured on it.
    id_card = card(page, "ID")
    await id_card.locator("input[type=file]").set_input_files(
        jpeg_file("blurred-id.jpg", document_photo(82, blur=5))
    )
    await expect(dialog.locator(".quality-warning")).to_have_attribute("data-warnings", "BLURRY")
    await dialog.get_by_role("button", name="仍然上传").click()
    tile = id_card.locator("figure.picture")
    await expect(tile).to_have_count(1)
    await expect(tile.locator(".quality-warning")).to_have_text("照片可能模糊，建议重新拍摄。")
    with service.db():
        stored = await Attachment.get(candidate_id=row.id, category_id=categories["ID"].id)
    assert stored.quality_warnings == ["BLURRY"]  # the browser and the service agree
    await screenshot(page, "candidate_card_with_quality_warning")
    assert errors.unexpected() == []


async def test_the_page_measures_what_the_service_measures(
    service: Service, context: BrowserContext
) -> None:
    """quality.js on the decoded picture against storage/measures.py on the same bytes."""
    page = await context.new_page()
    await page.goto(service.base_url + "/")
    pictures = {
        "sharp": document_photo(83, "certificate"),
        "blurred": document_photo(83, "certificate", blur=3),
        "dark": photograph(diploma(84), 84, Shot(exposure=0.3)),
        "reflection": photograph(id_card(85), 85, Shot(highlight=0.1)),
    }
    for name, data in pictures.items():
        served = inspect_picture(data, PictureRules(("jpeg", "png"), 10**7, 300, 40_000_000, 320))
        seen = await page.evaluate(
            """async (bytes) => {
                const { inspect } = await import("/js/quality.js");
                const blob = new Blob([new Uint8Array(bytes)], { type: "image/jpeg" });
                const bitmap = await createImageBitmap(blob);
                return inspect(bitmap, bitmap.width, bitmap.height, true);
            }""",
            list(data),
        )
        m = served.measures
        assert seen["measures"]["brightness"] == pytest.approx(m.brightness, abs=1.5), name
        assert seen["measures"]["glare"] == pytest.approx(m.glare, abs=0.01), name
        assert seen["measures"]["sharpness"] == pytest.approx(m.sharpness, rel=0.15), name
        assert seen["warnings"] == [w.value for w in served.warnings], name

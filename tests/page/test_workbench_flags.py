"""「审核台」 shows what was measured at upload: each picture's quality warnings, and the pictures
that look like other candidates' (listed only within the examiner's scope), in real Chromium.

Every picture here is a photo of a made-up document with seeds of this file's own, so the
pictures other tests upload (the same few photos, many times) never look alike to them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from playwright.async_api import BrowserContext, Locator, Page, expect

from models import MaterialCategory
from models.enums import ReviewStatus
from tests.helpers.accounts import SignedInCandidate, candidate_signed_in, staff_signed_in
from tests.helpers.documents import document_photo, reencoded, resized
from tests.helpers.factories import unique
from tests.helpers.flows import me, submit, uploaded
from tests.helpers.service import Service
from tests.page.conftest import PageErrors, screenshot
from tests.page.workbench import PANEL, pictures_painted, signed_in_workbench, stored

_seeds = iter(range(7301, 7390))
# The badge's title: the measure behind the warning, then all three as measured at upload.
MEASURED_BLUR = re.compile(r"^清晰度 \d+（越高越清晰），亮度 \d+（0–255），反光面积 \d+\.\d%，上传时测得。$")


def own_photo(kind: str = "id_card") -> bytes:
    """A sharp photo of a document no other picture looks like."""
    return document_photo(next(_seeds), kind)


async def submitted_with(
    service: Service, region: str, site: str, first: dict[str, bytes]
) -> SignedInCandidate:
    """A candidate of `site` whose first picture of each category in `first` is the one given,
    the other required pictures photos of their own, submitted."""
    candidate = await candidate_signed_in(service, region=region, site=site)
    for material in (await me(candidate.client))["materials"]:
        code = material["category"]["code"]
        pictures = [first[code]] if code in first else []
        need = max(material["category"]["minCount"], 1) if material["required"] else 0
        pictures += [own_photo() for _ in range(need - len(pictures))]
        for picture in pictures:
            await uploaded(candidate.client, material["category"]["id"], picture)
    await submit(candidate.client)
    return candidate


def picture_card(page: Page, label: str) -> Locator:
    return page.locator(PANEL).locator(".wb-card", has=page.get_by_role("img", name=label))


@dataclass
class Shared:
    """Three candidates with one diploma photo: two at `site`, one at `elsewhere`."""

    region: str
    site: str
    elsewhere: str
    first: SignedInCandidate  # also sent a blurred 身份证明
    second: SignedInCandidate
    other_site: SignedInCandidate

    def clients(self) -> Iterator[SignedInCandidate]:
        yield from (self.first, self.second, self.other_site)


async def shared_diploma(service: Service) -> Shared:
    region, site, elsewhere = unique("相似审核区"), unique("甲考点"), unique("乙考点")
    diploma = own_photo("diploma")
    first = await submitted_with(
        service, region, site, {"ID": document_photo(7390, "diploma", blur=4), "EDU": diploma}
    )
    second = await submitted_with(service, region, site, {"EDU": reencoded(diploma, 65)})
    other_site = await submitted_with(service, region, elsewhere, {"EDU": resized(diploma, 0.8)})
    return Shared(region, site, elsewhere, first, second, other_site)


async def test_quality_warnings_and_lookalikes_on_the_cards_within_scope(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    shared = await shared_diploma(service)
    staff = await staff_signed_in(service, region=shared.region, site=shared.site)
    page = await signed_in_workbench(context, service.base_url, staff.row.username)
    errors = PageErrors(page)
    panel = page.locator(PANEL)
    await expect(page.locator(".wb-queue-row")).to_have_count(2)
    keys = ["n"]
    await page.keyboard.press("n")  # the oldest: the first candidate
    await expect(panel.get_by_role("heading", name=shared.first.row.name)).to_be_visible()
    await pictures_painted(page, 4)

    # The blurred 身份证明: a badge in the candidate page's own words, the measures on hover.
    blurred = picture_card(page, "身份证明 第 1 张")
    badge = blurred.locator(".wb-note-warning", has_text="模糊")
    await expect(badge).to_have_count(1)
    await expect(badge).to_have_attribute("title", MEASURED_BLUR)
    # Seen: the word alone; read out: the word and the measures (for those who cannot hover).
    await expect(badge).to_have_text(re.compile(r"^模糊：清晰度 \d+"))
    hidden = await badge.locator(".wb-sr").bounding_box()
    assert hidden is not None and hidden["width"] <= 1 and hidden["height"] <= 1
    sharp = picture_card(page, "身份证明 第 2 张")
    await expect(sharp.locator(".wb-note-warning")).to_have_count(0)

    # The shared diploma: 「相似照片 2」 (the other site's copy counted), one listed, on demand.
    diploma = picture_card(page, "学历证明 第 1 张")
    flag = diploma.get_by_role("button", name="相似照片 2")
    await expect(flag).to_have_attribute("aria-expanded", "false")
    head = panel.locator(".wb-candidate-head .wb-flag")
    await expect(head).to_contain_text("相似照片")
    await expect(head).to_contain_text("学历证明 第 1 张与其他考生的 2 张照片相似")
    await flag.click()
    await expect(flag).to_have_attribute("aria-expanded", "true")
    listed = diploma.locator(".wb-lookalikes li")
    await expect(listed).to_have_count(1)
    await expect(listed).to_contain_text(shared.second.row.admission_no)
    await expect(listed).to_contain_text(shared.second.row.name)
    await expect(listed).to_contain_text("学历证明")
    await expect(listed).to_contain_text(re.compile(r"差异 [0-6]/64"))
    await expect(diploma.locator(".wb-note-details")).to_contain_text("另有 1 张在您的审核范围之外")
    await expect(panel).not_to_contain_text(shared.other_site.row.name)
    await expect(panel).not_to_contain_text(shared.other_site.row.admission_no)
    await screenshot(page, "workbench_quality_and_lookalikes", include=PANEL)

    # Large, the same warnings are spelt out under the picture.
    await blurred.get_by_role("button", name="查看大图：身份证明 第 1 张").click()
    viewer = page.get_by_role("dialog", name="身份证明 第 1 张（1 / 4）")
    await expect(viewer.locator(".wb-viewer-warning")).to_have_text(re.compile(r"^模糊：清晰度 \d+"))
    await screenshot(page, "workbench_viewer_quality", include=PANEL)
    await page.keyboard.press("Escape")
    await expect(viewer).to_have_count(0)

    # The keys stay as they were: all fine takes A, P, Enter after N, flags or not.
    for key in ("a", "p", "Enter"):
        if key == "Enter":
            await expect(page.get_by_role("dialog", name="确认通过")).to_be_visible()
        await page.keyboard.press(key)
        keys.append(key)
    await expect(panel.get_by_role("status").filter(has_text="已通过")).to_contain_text(shared.first.row.name)
    assert len(keys) == 4
    assert (await stored(service, shared.first.row)).status == ReviewStatus.APPROVED
    assert errors.unexpected() == []
    for candidate in shared.clients():
        await candidate.client.aclose()
    await staff.client.aclose()


async def test_an_examiner_of_another_site_sees_the_count_but_not_who(
    service: Service, categories: dict[str, MaterialCategory], context: BrowserContext
) -> None:
    shared = await shared_diploma(service)
    staff = await staff_signed_in(service, region=shared.region, site=shared.elsewhere)
    page = await signed_in_workbench(context, service.base_url, staff.row.username)
    errors = PageErrors(page)
    panel = page.locator(PANEL)
    await expect(page.locator(".wb-queue-row")).to_have_count(1)
    await page.keyboard.press("n")
    await expect(panel.get_by_role("heading", name=shared.other_site.row.name)).to_be_visible()
    await pictures_painted(page, 4)

    diploma = picture_card(page, "学历证明 第 1 张")
    await diploma.get_by_role("button", name="相似照片 2").click()
    details = diploma.locator(".wb-note-details")
    await expect(details).to_have_text("2 张相似照片都在您的审核范围之外，不显示考生。")
    await expect(diploma.locator(".wb-lookalikes li")).to_have_count(0)
    for hidden in (shared.first, shared.second):
        await expect(panel).not_to_contain_text(hidden.row.name)
        await expect(panel).not_to_contain_text(hidden.row.admission_no)
    await expect(panel.locator(".wb-candidate-head .wb-flag")).to_contain_text("学历证明 第 1 张")
    # This candidate's own pictures are sharp: no quality badge anywhere.
    await expect(panel.locator(".wb-note-warning", has_text=re.compile("模糊|过暗|过亮|有反光"))).to_have_count(0)
    await screenshot(page, "workbench_lookalikes_out_of_scope", include=PANEL)
    assert errors.unexpected() == []
    for candidate in shared.clients():
        await candidate.client.aclose()
    await staff.client.aclose()

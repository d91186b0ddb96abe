"""What the workbench's browser tests share: opening 「审核台」 in GraphiQL, signing in through
the panel, waiting for every picture to paint, and reading a candidate back."""

from __future__ import annotations

from playwright.async_api import BrowserContext, Page, expect

from models import Candidate
from tests.helpers.factories import PASSWORD
from tests.helpers.service import Service

PANEL = ".wb-plugin"
PICTURES_PAINTED = """(count) => {
    const pictures = [...document.querySelectorAll('.wb-pictures img')];
    return pictures.length === count && pictures.every((p) => p.complete && p.naturalWidth > 0);
}"""


async def open_workbench(page: Page, base_url: str) -> None:
    await page.goto(base_url + "/graphql")
    await page.get_by_role("button", name="Show 审核台").click()
    await expect(page.locator(".wb")).to_be_visible()


async def sign_in_panel(page: Page, username: str, password: str = PASSWORD) -> None:
    panel = page.locator(PANEL)
    await panel.get_by_label("用户名").fill(username)
    await panel.get_by_label("密码").fill(password)
    await panel.get_by_role("button", name="登录").click()


async def signed_in_workbench(context: BrowserContext, base_url: str, username: str) -> Page:
    page = await context.new_page()
    await open_workbench(page, base_url)
    await sign_in_panel(page, username)
    await expect(page.locator(PANEL).get_by_text("实时更新中")).to_be_visible()
    return page


async def pictures_painted(page: Page, count: int) -> None:
    await page.wait_for_function(PICTURES_PAINTED, arg=count)
    # Loaded is not yet drawn: decoded, so a screenshot right after shows every picture.
    await page.evaluate("Promise.all([...document.querySelectorAll('.wb-pictures img')].map((p) => p.decode()))")


async def stored(service: Service, candidate: Candidate) -> Candidate:
    with service.db():
        return await Candidate.get(id=candidate.id)

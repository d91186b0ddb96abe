"""Headless Chromium (Debian's package) driven by Playwright, one browser per session."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TypedDict

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    FilePayload,
    Locator,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_FOUND = Path(CHROMIUM).exists()
SCREENSHOTS = Path(__file__).resolve().parent.parent / "screenshots"
DESKTOP = ViewportSize(width=1280, height=900)
PHONE = ViewportSize(width=360, height=740)
# Vendored, so the check runs offline and always with the same rules (see its README.md).
AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")

# Every wait is bounded; these are generous so a busy machine does not fail a test.
expect.set_options(timeout=15_000)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_FOUND:
        pytest.fail(f"Chromium is missing at {CHROMIUM}: apt-get install -y chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


class PageErrors:
    """JavaScript errors of one page; a test ends by checking there were none."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )

    def unexpected(self, *allowed: str) -> list[str]:
        return [e for e in self.errors if not any(re.search(a, e) for a in allowed)]


async def open_context(browser: Browser, viewport: ViewportSize = DESKTOP) -> BrowserContext:
    context = await browser.new_context(viewport=viewport, locale="zh-CN")
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    opened = await open_context(browser)
    yield opened
    await opened.close()


class Violation(TypedDict):
    id: str
    help: str
    impact: str | None
    nodes: list[str]  # the failing elements' selectors, with their own impact


async def check_accessibility(page: Page, state_name: str, include: str | None = None) -> None:
    """Run axe-core on the page as it stands (or only the part `include` selects); fail listing
    every serious or critical violation."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    violations: list[Violation] = await page.evaluate(
        """async (include) => {
            const context = include ? { include: [[include]] } : document;
            const result = await axe.run(context, { resultTypes: ["violations"] });
            return result.violations.map((v) => ({
                id: v.id,
                help: v.help,
                impact: v.impact,
                nodes: v.nodes.map((n) => `${n.impact}: ${n.target.flat(Infinity).join(" ")}`),
            }));
        }""",
        include,
    )
    blocking = [v for v in violations if v["impact"] in BLOCKING_IMPACTS]
    if blocking:
        lines = [f"{state_name}: {len(blocking)} serious or critical accessibility violation(s)"]
        for violation in blocking:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            lines.extend(f"    {node}" for node in violation["nodes"])
        pytest.fail("\n".join(lines), pytrace=False)


async def screenshot(
    page: Page, name: str, *, accessibility: bool = True, include: str | None = None
) -> Path:
    """Save the page as it stands, then check it with axe: every state worth a picture is checked
    (only the part `include` selects, where the rest of the page is not ours)."""
    path = SCREENSHOTS / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    if accessibility:
        await check_accessibility(page, name, include)
    return path


async def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    """Open the page and sign in; returns once the registration header shows."""
    await page.goto(base_url + "/")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await expect(page.locator("#registration")).to_be_visible()
    await expect(page.locator("#live")).to_have_attribute("data-live", "open")


def card(page: Page, code: str) -> Locator:
    """The material card of one category."""
    return page.locator(f'article.material[data-category="{code}"]')


def jpeg_file(name: str, data: bytes) -> FilePayload:
    """A JPEG as the file chooser hands it to the page."""
    return FilePayload(name=name, mimeType="image/jpeg", buffer=data)

"""The examiners' workbench (「审核台」) in Chromium against `exam-review serve`, over loopback.

Figures: the time from pressing 「下一位」 to every picture of the claimed candidate painted
(`img.complete && naturalWidth > 0` for all of them, measured in the page from the keydown), the
keystrokes each approval took, and claimNext under contention (examiners pressing at once:
calls, candidates handed out, duplicates). Candidates carry four realistic photos each
(1600×1200, 150–200 KB, `realistic_jpegs`), uploaded and submitted through the API.

    .venv/bin/python -m bench.workbench [--candidates 20] [--examiners 4] [--presses 5]

Needs Chromium at $CHROMIUM (default /usr/bin/chromium). Never part of `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    PASSWORD,
    Account,
    category_ids,
    log,
    migrate_and_demo,
    orm,
    password_hash,
    percentile,
    realistic_jpegs,
    seed_candidates,
    spawn_service,
)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
REGION, SITE = "压测省", "审核台考点"
UPLOAD = (
    "mutation($c: ID!, $f: Upload!) { uploadAttachment(categoryId: $c, file: $f)"
    " { attachment { id } errors { code message } } }"
)
# Loaded is not yet on screen: a screenshot at `complete && naturalWidth > 0` once showed the
# last picture blank. So: every picture loaded, decoded (`decode()`), and one frame drawn after.
PAINTED = """(count) => new Promise((resolve) => {
    const check = () => {
        const pictures = [...document.querySelectorAll('.wb-pictures img')];
        if (pictures.length === count && pictures.every((p) => p.complete && p.naturalWidth > 0)) {
            Promise.all(pictures.map((p) => p.decode())).then(() => requestAnimationFrame(
                () => resolve(performance.now() - window.__pressedAt)));
        } else {
            requestAnimationFrame(check);
        }
    };
    check();
})"""


async def examiners(var_dir: Path, count: int) -> list[str]:
    """Examiners of the bench's site, signing in with PASSWORD; their usernames."""
    from models import StaffUser
    from models.enums import Role

    names = [f"bench_examiner_{i}_{time.time_ns() % 10**6}" for i in range(count)]
    async with orm(var_dir):
        for i, username in enumerate(names):
            await StaffUser.create(
                username=username, password_hash=password_hash(), name=f"压测审核员{i + 1}",
                role=Role.EXAMINER, region=REGION, site=SITE,
            )
    return names


async def submit_with_pictures(http: httpx.AsyncClient, account: Account, categories: dict[str, int], photos: list[bytes]) -> None:
    headers = {"Authorization": f"Bearer {account.token}"}
    for index, code in enumerate(("ID", "ID", "EDU", "PROBATION")):
        operations = {"query": UPLOAD, "variables": {"c": str(categories[code]), "f": None}}
        response = await http.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.f"]})},
            files={"0": ("photo.jpg", photos[(account.id + index) % len(photos)], "image/jpeg")},
            headers=headers,
        )
        payload = response.json()["data"]["uploadAttachment"]
        assert payload["errors"] == [], payload
    answer = await http.post(
        "/graphql", json={"query": "mutation { submitForReview { errors { code message } } }"}, headers=headers
    )
    assert answer.json()["data"]["submitForReview"]["errors"] == [], answer.text


async def paint_times(base: str, username: str, count: int) -> tuple[list[float], list[int]]:
    """Per candidate: ms from 「下一位」 to every picture painted; and the keys each approval took."""
    from playwright.async_api import async_playwright, expect

    from tests.page.workbench import open_workbench, sign_in_panel

    painted: list[float] = []
    keys: list[int] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        page = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await open_workbench(page, base)
        await sign_in_panel(page, username, PASSWORD)
        await expect(page.get_by_text("实时更新中")).to_be_visible(timeout=30_000)
        await page.evaluate(
            "document.addEventListener('keydown', (e) => { if (e.key === 'n') window.__pressedAt = performance.now(); }, true)"
        )
        for _ in range(count):
            pressed = 0
            await page.keyboard.press("n")
            pressed += 1
            painted.append(await page.evaluate(PAINTED, 4))
            await page.keyboard.press("a")
            pressed += 1
            await expect(page.locator(".wb-card.wb-verdict-accepted")).to_have_count(4, timeout=30_000)
            for key in ("p", "Enter"):
                await page.keyboard.press(key)
                pressed += 1
            await expect(page.locator(".wb-queue")).to_be_visible(timeout=30_000)
            keys.append(pressed)
        await browser.close()
    return painted, keys


async def contention(base: str, var_dir: Path, usernames: list[str], presses: int, waiting: int) -> dict[str, Any]:
    """Every examiner presses 「下一位」 `presses` times at once, with `waiting` candidates queued."""
    from models import Candidate
    from models.enums import ReviewStatus

    accounts = await seed_candidates(var_dir, waiting, status="SUBMITTED", region=REGION, site=SITE)
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        tokens = []
        for username in usernames:
            answer = await http.post("/graphql", json={
                "query": "mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }",
                "variables": {"u": username, "p": PASSWORD},
            })
            tokens.append(answer.json()["data"]["login"]["token"])
    clients = [httpx.AsyncClient(base_url=base, timeout=60, headers={"Authorization": f"Bearer {t}"})
               for t in tokens for _ in range(presses)]
    started = time.perf_counter()
    try:
        answers = await asyncio.gather(*(
            client.post("/graphql", json={"query": "mutation { claimNext { candidate { id } errors { code } } }"})
            for client in clients
        ))
    finally:
        for client in clients:
            await client.aclose()
    seconds = time.perf_counter() - started
    got = [a.json()["data"]["claimNext"]["candidate"] for a in answers]
    ids = [c["id"] for c in got if c is not None]
    async with orm(var_dir):
        still_waiting = await Candidate.filter(
            id__in=[a.id for a in accounts], status=ReviewStatus.SUBMITTED, claim_staff_id__isnull=True
        ).count()
    return {
        "calls": len(clients), "waiting": waiting, "claimed": len(ids),
        "duplicates": sum(n - 1 for n in Counter(ids).values()), "null": got.count(None),
        "unclaimed_left": still_waiting, "seconds": seconds,
    }


async def run(candidates: int, examiner_count: int, presses: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-workbench-") as folder:
        var_dir = Path(folder)
        migrate_and_demo(var_dir)
        usernames = await examiners(var_dir, examiner_count)
        accounts = await seed_candidates(var_dir, candidates, region=REGION, site=SITE)
        categories = await category_ids(var_dir)
        server = spawn_service(var_dir)
        try:
            await server.wait_ready()
            photos = realistic_jpegs(8)
            log(f"uploading {4 * candidates} photos for {candidates} candidates")
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
                for account in accounts:
                    await submit_with_pictures(http, account, categories, photos)
            log("workbench in Chromium: 下一位 → painted, then approve by keyboard")
            painted, keys = await paint_times(server.url, usernames[0], candidates)
            log("claimNext under contention")
            contended = await contention(server.url, var_dir, usernames, presses, examiner_count * presses - 5)
        finally:
            await server.stop()
    return {"painted_ms": painted, "keys": keys, "contention": contended, "photo_bytes": [len(p) for p in photos]}


def report(out: dict[str, Any]) -> list[str]:
    painted, c = out["painted_ms"], out["contention"]
    return [
        f"**Workbench** — {len(painted)} candidates × 4 photos ({min(out['photo_bytes']) // 1024}–"
        f"{max(out['photo_bytes']) // 1024} KB, 1600×1200), one examiner in Chromium, loopback, SQLite.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| 「下一位」 → every picture painted, median ms | {statistics.median(painted):.0f} "
        f"(min {min(painted):.0f}, p90 {percentile(painted, 90):.0f}, max {max(painted):.0f}) |",
        f"| keystrokes per approval (下一位, 全部合格, 通过, Enter) | {statistics.median(out['keys']):.0f} "
        f"(max {max(out['keys'])}) |",
        f"| concurrent claimNext: calls / waiting / claimed / null / duplicates | {c['calls']} / "
        f"{c['waiting']} / {c['claimed']} / {c['null']} / {c['duplicates']} "
        f"(unclaimed left: {c['unclaimed_left']}; {c['seconds'] * 1000:.0f} ms for all) |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--examiners", type=int, default=4)
    parser.add_argument("--presses", type=int, default=5, help="claimNext presses per examiner, at once")
    args = parser.parse_args()
    out = asyncio.run(run(args.candidates, args.examiners, args.presses))
    print("\n".join(report(out)))


if __name__ == "__main__":
    main()

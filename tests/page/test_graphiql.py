"""The examiners' GraphiQL at /graphql: vendored assets, ready tabs, the header editor pre-filled."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from graphql import OperationDefinitionNode, build_schema, parse, validate
from playwright.async_api import BrowserContext, Page, expect

from server.app import CLIENT_DIR
from tests.helpers.factories import PASSWORD, make_candidate, make_staff
from tests.helpers.service import Service
from tests.page.conftest import PageErrors, screenshot

EXAMINER_OPERATIONS = sorted(
    (CLIENT_DIR / "examiner").glob("*.graphql"), key=lambda p: (int(p.name.split("-")[0]), p.name)
)
VARIABLES = ".graphiql-editor-tool .graphiql-editor:nth-of-type(1) .CodeMirror"
HEADERS = ".graphiql-editor-tool .graphiql-editor:nth-of-type(2) .CodeMirror"
RESULT = ".result-window .CodeMirror"
QUERY = ".graphiql-query-editor .CodeMirror"
SERVED_SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "schema.graphql"


def test_every_examiner_operation_is_valid_against_the_schema() -> None:
    schema = build_schema(SERVED_SCHEMA.read_text(encoding="utf-8"))
    names = []
    for path in EXAMINER_OPERATIONS:
        document = parse(path.read_text(encoding="utf-8"))
        assert validate(schema, document) == [], path.name
        operation = document.definitions[0]
        assert isinstance(operation, OperationDefinitionNode) and operation.name, path.name
        names.append(operation.name.value)
    # the guide's operations come first, in the order of their numbers (10- after 9-)
    assert names[:9] == [
        "Login", "ReviewQueue", "Candidate", "ReturnForCorrection", "ApproveCandidate",
        "RejectCandidate", "SendFeedback", "SetAttachmentVerdict", "QueueEvents",
    ]


async def test_graphiql_page_is_served_with_the_operations_and_no_cdn(service: Service) -> None:
    async with httpx.AsyncClient() as http:
        response = await http.get(service.base_url + "/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    html = response.text
    assert "unpkg.com" not in html and "cdn" not in html.lower()
    for asset in ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css"):
        assert f"/vendor/graphiql/{asset}" in html
    tabs_json = html.split('<script id="examiner-tabs" type="application/json">', 1)[1].split("</script>", 1)[0]
    tabs = json.loads(tabs_json)
    assert [t["query"] for t in tabs] == [p.read_text(encoding="utf-8") for p in EXAMINER_OPERATIONS]
    assert json.loads(tabs[0]["variables"]) == {"username": "", "password": ""}
    [queue_events] = [t for t in tabs if "subscription QueueEvents" in t["query"]]
    assert queue_events["variables"] is None  # it takes none


async def editor(page: Page, selector: str, value: str | None = None) -> str:
    """Read (and optionally set) one of GraphiQL's CodeMirror editors."""
    return await page.evaluate(
        """([selector, value]) => {
            const editor = document.querySelector(selector).CodeMirror;
            if (value !== null) editor.setValue(value);
            return editor.getValue();
        }""",
        [selector, value],
    )


async def test_examiner_session_in_graphiql(service: Service, context: BrowserContext) -> None:
    staff = await make_staff(service)
    await make_candidate(service)
    page = await context.new_page()
    errors = PageErrors(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await page.goto(service.base_url + "/graphql")

    tabs = page.locator(".graphiql-tab")
    await expect(tabs).to_have_count(len(EXAMINER_OPERATIONS))
    for name in ("Login", "ReviewQueue", "Candidate", "ReturnForCorrection", "QueueEvents"):
        await expect(page.locator(".graphiql-tabs")).to_contain_text(name)
    assert json.loads(await editor(page, HEADERS)) == {"Authorization": "Bearer <token>"}

    # sign in from the first tab; the token goes into the header editor; the queue answers
    await tabs.nth(0).click()
    assert json.loads(await editor(page, VARIABLES)) == {"username": "", "password": ""}
    await editor(page, VARIABLES, json.dumps({"username": staff.username, "password": PASSWORD}))
    await page.locator(".graphiql-execute-button").click()
    result = page.locator(".result-window")
    await expect(result).to_contain_text('"role": "EXAMINER"')
    token = json.loads(await editor(page, RESULT))["data"]["login"]["token"]
    await tabs.nth(1).click()
    await expect(page.locator(".graphiql-query-editor")).to_contain_text("query ReviewQueue")
    await editor(page, HEADERS, json.dumps({"Authorization": f"Bearer {token}"}))
    # GraphiQL re-reads which operation to send from the document after a debounce, so just
    # after a tab switch it can still send the previous tab's name: run again until it has.
    for _ in range(20):
        await page.locator(".graphiql-execute-button").click()
        await expect(result).not_to_contain_text('"role": "EXAMINER"')
        if '"totalCount"' in await editor(page, RESULT):
            break
        await page.wait_for_timeout(250)
    await expect(result).to_contain_text('"totalCount"')
    answer = json.loads(await editor(page, RESULT))
    assert "errors" not in answer and answer["data"]["reviewQueue"]["totalCount"] >= 0

    # GraphiQL is a vendored third-party bundle and fails axe (unlabelled CodeMirror textareas,
    # nested interactive tabs, low-contrast syntax colours): only our own page is checked.
    await screenshot(page, "graphiql_examiner", accessibility=False)
    foreign = [url for url in requested if not url.startswith((service.base_url, "data:"))]
    assert foreign == []  # everything is served by the service itself
    # The early runs of the retry loop above answer 400 (unknown operation name) by design.
    assert errors.unexpected(r"status of 400 \(Bad Request\)") == []

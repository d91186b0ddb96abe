"""The schema's guards: depth, token and alias limits, error masking, introspection, GraphiQL."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query

from tests.helpers.accounts import SignedInStaff, signed_in
from tests.helpers.client import GraphQLClient, Result
from tests.helpers.factories import make_candidate, make_staff
from tests.helpers.service import Service, start_service
from tests.helpers.service import test_settings as service_settings

MASKED = "服务器内部错误，请稍后重试。"

DEPTH_3 = "query { me { materials { category { name } } } }"
DEPTH_4 = "query { me { materials { attachments { category { name } } } } }"


@pytest.fixture(scope="module")
async def strict(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Service]:
    """A service of its own with small limits, so valid documents can reach them."""
    folder = tmp_path_factory.mktemp("strict")
    own = await start_service(
        service_settings(folder, max_query_depth=3, max_query_tokens=40, max_aliases=2)
    )
    yield own
    await own.stop()


@pytest.fixture
async def strict_candidate(strict: Service) -> AsyncIterator[GraphQLClient]:
    row = await make_candidate(strict)
    client = await signed_in(strict, row.username)
    yield client
    await client.aclose()


def only_error(result: Result) -> str:
    assert result.status_code == 200, result.errors
    assert result.data is None
    assert len(result.errors) == 1, result.errors
    return str(result.errors[0]["message"])


async def test_depth_limit(strict_candidate: GraphQLClient) -> None:
    allowed = await strict_candidate.execute(DEPTH_3)
    assert allowed.errors == [] and allowed.data == {"me": {"materials": []}}
    message = only_error(await strict_candidate.execute(DEPTH_4))
    assert "exceeds maximum operation depth of 3" in message


async def test_depth_limit_counts_through_fragments(strict_candidate: GraphQLClient) -> None:
    document = """
    query { me { ...M } }
    fragment M on Candidate { materials { attachments { category { name } } } }
    """
    assert "maximum operation depth" in only_error(await strict_candidate.execute(document))


async def test_default_depth_limit(examiner_client: SignedInStaff) -> None:
    # The served schema has no cycle deep enough for a valid document to pass 10 levels,
    # so this one is also invalid; the depth error is among the answers, and it is no 500.
    document = "query { me " + "{ materials " * 11 + "{ id }" + " }" * 11 + " }"
    result = await examiner_client.client.execute(document)
    assert result.status_code == 200 and result.data is None
    messages = [e["message"] for e in result.errors]
    assert any("exceeds maximum operation depth of 10" in m for m in messages), messages


async def test_token_limit(strict_candidate: GraphQLClient) -> None:
    fits = "query { me { id name site region stage phone address status locked } }"
    assert (await strict_candidate.execute(fits)).errors == []
    too_long = "query { me { " + "id " * 40 + "} }"
    message = only_error(await strict_candidate.execute(too_long))
    assert "more than 40 tokens" in message


async def test_default_token_limit(anonymous: GraphQLClient) -> None:
    document = "{ " + "__typename " * 2100 + "}"
    message = only_error(await anonymous.execute(document))
    assert "more than 2000 tokens" in message


async def test_alias_limit(strict: Service) -> None:
    client = strict.client()
    two = await client.execute("{ a: __typename b: __typename }")
    assert two.errors == [] and two.data == {"a": "Query", "b": "Query"}
    message = only_error(await client.execute("{ a: __typename b: __typename c: __typename }"))
    assert message == "3 aliases found. Allowed: 2"
    await client.aclose()


async def test_default_alias_limit(anonymous: GraphQLClient) -> None:
    aliases = " ".join(f"a{i}: __typename" for i in range(31))
    assert only_error(await anonymous.execute("{ " + aliases + " }")) == "31 aliases found. Allowed: 30"
    thirty = " ".join(f"a{i}: __typename" for i in range(30))
    assert (await anonymous.execute("{ " + thirty + " }")).errors == []


async def test_limits_apply_before_authentication(anonymous: GraphQLClient) -> None:
    """An anonymous caller's oversized document is refused for its size, not run."""
    aliases = " ".join(f"a{i}: categories {{ id }}" for i in range(31))
    result = await anonymous.execute("{ " + aliases + " }")
    assert [e["message"] for e in result.errors] == ["31 aliases found. Allowed: 30"]


async def _raw_post(service: Service, body: str, token: str | None = None) -> dict[str, Any]:
    """Post a JSON text as it is (httpx cannot encode a lone surrogate itself)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        response = await http.post("/graphql", content=body.encode("ascii"), headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_unexpected_errors_are_masked(service: Service, examiner_client: SignedInStaff) -> None:
    """A lone UTF-16 surrogate is valid JSON but cannot be stored or bound in SQLite.

    That failure is nobody's rule: it must come back masked, with nothing of its inside.
    """
    query = "mutation($u: String!) { login(username: $u, password: \\\"x\\\") { token } }"
    body = '{"query": "' + query + '", "variables": {"u": "ab\\ud800cd"}}'
    answer = await _raw_post(service, body)
    assert answer["data"] is None
    [error] = answer["errors"]
    assert error["message"] == MASKED
    assert error["path"] == ["login"]
    # Only what leads to the log line: a generic code and the request id.
    assert set(error["extensions"]) == {"code", "requestId"}
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert re.fullmatch(r"[0-9a-f]{16}", error["extensions"]["requestId"])
    text = json.dumps(answer, ensure_ascii=False)
    for leak in ("surrogate", "Traceback", "sqlite", "encode", "utf-8"):
        assert leak not in text

    lookup = "query($n: String!) { candidateByAdmissionNo(admissionNo: $n) { id } }"
    body = '{"query": "' + lookup + '", "variables": {"n": "\\udfff"}}'
    answer = await _raw_post(service, body, examiner_client.client.token)
    assert [e["message"] for e in answer["errors"]] == [MASKED]


async def test_access_errors_and_user_errors_are_not_masked(anonymous: GraphQLClient) -> None:
    result = await anonymous.execute("query { me { id } }")
    assert result.errors[0]["message"] != MASKED
    assert result.error_codes == ["UNAUTHENTICATED"]
    invalid = await anonymous.execute("query { nope }")
    assert invalid.status_code == 200
    assert "Cannot query field 'nope'" in invalid.errors[0]["message"]


async def test_introspection_works_for_graphiql(anonymous: GraphQLClient) -> None:
    # GraphiQL's own introspection document must fit every limit.
    result = await anonymous.execute(get_introspection_query(descriptions=True))
    assert result.errors == [], result.errors
    schema = result.payload("__schema")
    assert schema["queryType"]["name"] == "Query"
    assert schema["subscriptionType"]["name"] == "Subscription"
    names = {t["name"] for t in schema["types"]}
    assert {"Candidate", "ReviewEvent", "QueueEvent", "ErrorCode", "Upload"} <= names


async def test_introspection_nesting_is_bounded(anonymous: GraphQLClient) -> None:
    inner = "name"
    for _ in range(4):
        inner = f"fields {{ type {{ {inner} }} }}"
    result = await anonymous.execute(f"{{ __schema {{ types {{ {inner} }} }} }}")
    assert result.status_code == 200 and result.data is None
    assert "introspection depth" in result.errors[0]["message"]


@pytest.mark.parametrize("accept", ["text/html", "text/html,application/xhtml+xml,*/*;q=0.8"])
async def test_get_graphql_serves_graphiql(service: Service, accept: str) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        page = await http.get("/graphql", headers={"Accept": accept})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "graphiql" in page.text.lower()
    assert "<html" in page.text.lower()


async def test_get_graphql_does_not_run_mutations(service: Service) -> None:
    staff = await make_staff(service)
    async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:
        response = await http.get(
            "/graphql",
            params={"query": f'mutation {{ login(username: "{staff.username}", password: "x") {{ token }} }}'},
            headers={"Accept": "application/json"},
        )
    assert 400 <= response.status_code < 500

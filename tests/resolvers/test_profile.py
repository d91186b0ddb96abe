"""resolvers/candidates.py update_profile: phone and address, at any time."""

from __future__ import annotations

from typing import Any

import pytest

from models import AuditEntry, Candidate, MaterialCategory
from models.enums import AuditAction
from tests.helpers import operations as op
from tests.helpers.accounts import SignedInCandidate, signed_in
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import make_candidate
from tests.helpers.flows import codes, fill_required, me, submit
from tests.helpers.service import Service

ADDRESS = "山东省济南市历下区经十路 1 号"


async def update(client: GraphQLClient, phone: str, address: str) -> dict[str, Any]:
    result = await client.execute(op.UPDATE_PROFILE, {"phone": phone, "address": address})
    return result.payload("updateProfile")


async def saved(service: Service, candidate_id: int) -> tuple[str | None, str | None]:
    with service.db():
        row = await Candidate.get(id=candidate_id)
    return row.phone, row.address


@pytest.mark.parametrize(
    "phone",
    [
        "13800138000",
        "138 0013 8000",
        "+8613800138000",
        "+86 138-0013-8000",
        "008613800138000",
        "(138)00138000",
    ],
)
async def test_phone_is_normalised(service: Service, phone: str) -> None:
    row = await make_candidate(service, profile=False)
    client = await signed_in(service, row.username)
    payload = await update(client, phone, ADDRESS)
    assert payload["errors"] == []
    assert payload["candidate"] == {
        "phone": "13800138000",
        "address": ADDRESS,
        "profileComplete": True,
    }
    assert await saved(service, row.id) == ("13800138000", ADDRESS)
    assert (await me(client))["profileComplete"] is True
    await client.aclose()


async def test_success_writes_an_audit_row_and_trims_the_address(service: Service) -> None:
    row = await make_candidate(service, profile=False)
    client = await signed_in(service, row.username)
    assert (await me(client))["profileComplete"] is False
    payload = await update(client, "15912345678", "  济南市   槐荫区\t经七路 \n 9 号  ")
    assert payload["errors"] == []
    assert payload["candidate"]["address"] == "济南市 槐荫区 经七路 9 号"
    with service.db():
        audit = await AuditEntry.filter(candidate_id=row.id, action=AuditAction.PROFILE).all()
    assert len(audit) == 1 and audit[0].from_status == audit[0].to_status == "DRAFT"
    await client.aclose()


async def test_address_of_exactly_200_characters_is_accepted(
    candidate_client: SignedInCandidate,
) -> None:
    payload = await update(candidate_client.client, "13800138000", "址" * 200)
    assert payload["errors"] == [] and payload["candidate"]["address"] == "址" * 200


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "12345",
        "1380013800",
        "138001380001",
        "23800138000",
        "12800138000",
        "1380013800a",
        "+1 415 555 0100",
        "１３８００１３８０００",
        "13８００１３８０００",
    ],
)
async def test_invalid_phone(service: Service, candidate_client: SignedInCandidate, phone: str) -> None:
    row: Candidate = candidate_client.row
    before = await saved(service, row.id)
    payload = await update(candidate_client.client, phone, "济南市市中区")
    assert payload["candidate"] is None
    assert payload["errors"] == [
        {"code": "INVALID_PHONE", "message": payload["errors"][0]["message"], "field": "phone"}
    ]
    assert "11 位" in payload["errors"][0]["message"]
    assert await saved(service, row.id) == before


@pytest.mark.parametrize(
    "address",
    [
        "",
        "   ",
        "\t\n",
        "字" * 201,
        "济南\x00市",
        "济南市\x07历下区",
        "济南\x1b[31m市",
        "济南\x7f市",
    ],
    ids=["empty", "spaces", "whitespace", "201-chars", "nul", "bell", "escape", "delete"],
)
async def test_invalid_address(
    service: Service, candidate_client: SignedInCandidate, address: str
) -> None:
    row: Candidate = candidate_client.row
    before = await saved(service, row.id)
    payload = await update(candidate_client.client, "13912345678", address)
    assert payload["candidate"] is None
    assert codes(payload) == ["INVALID_INPUT"]
    assert payload["errors"][0]["field"] == "address"
    assert await saved(service, row.id) == before  # the good phone was not saved either


async def test_address_too_long_says_how_long(candidate_client: SignedInCandidate) -> None:
    payload = await update(candidate_client.client, "13800138000", "字" * 201)
    assert "200" in payload["errors"][0]["message"] and "201" in payload["errors"][0]["message"]


async def test_both_errors_at_once_and_nothing_saved(
    service: Service, candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    before = await saved(service, row.id)
    payload = await update(candidate_client.client, "not a phone", " ")
    assert payload["candidate"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_PHONE", "phone"),
        ("INVALID_INPUT", "address"),
    ]
    assert await saved(service, row.id) == before
    with service.db():
        assert not await AuditEntry.filter(candidate_id=row.id, action=AuditAction.PROFILE).exists()


async def test_allowed_while_locked(
    service: Service, categories: dict[str, MaterialCategory], candidate_client: SignedInCandidate
) -> None:
    row: Candidate = candidate_client.row
    await fill_required(candidate_client.client)
    assert (await submit(candidate_client.client))["locked"] is True
    payload = await update(candidate_client.client, "139 1234 5678", "青岛市市南区香港中路 10 号")
    assert payload["errors"] == []
    assert payload["candidate"]["phone"] == "13912345678"
    after = await me(candidate_client.client)
    assert after["status"] == "SUBMITTED" and after["locked"] is True
    assert await saved(service, row.id) == ("13912345678", "青岛市市南区香港中路 10 号")
    with service.db():
        audit = await AuditEntry.filter(candidate_id=row.id, action=AuditAction.PROFILE).all()
    assert [(a.from_status, a.to_status) for a in audit] == [("SUBMITTED", "SUBMITTED")]

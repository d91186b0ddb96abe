"""Signed-in accounts: a GraphQL client with the row it acts for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from models import Candidate, StaffUser
from models.enums import Role
from tests.helpers.client import GraphQLClient
from tests.helpers.factories import PASSWORD, make_candidate, make_staff
from tests.helpers.service import Service


@dataclass
class SignedInCandidate:
    client: GraphQLClient
    row: Candidate

    @property
    def id(self) -> str:
        return str(self.row.id)


@dataclass
class SignedInStaff:
    client: GraphQLClient
    row: StaffUser

    @property
    def id(self) -> str:
        return str(self.row.id)


async def signed_in(service: Service, username: str, password: str = PASSWORD) -> GraphQLClient:
    """A client carrying a fresh token of `username` (signed in through the real `login`)."""
    anonymous = service.client()
    try:
        return await anonymous.login(username, password)
    finally:
        await anonymous.aclose()


async def candidate_signed_in(service: Service, **values: Any) -> SignedInCandidate:
    """A new candidate (山东省/济南, complete profile unless told otherwise), signed in."""
    row = await make_candidate(service, **values)
    return SignedInCandidate(await signed_in(service, row.username), row)


async def staff_signed_in(
    service: Service, region: str = "山东省", site: str | None = "济南", role: Role = Role.EXAMINER
) -> SignedInStaff:
    """A new examiner (or admin) of the given scope, signed in."""
    row = await make_staff(service, region=region, site=site, role=role)
    return SignedInStaff(await signed_in(service, row.username), row)

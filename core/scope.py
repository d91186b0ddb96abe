"""Who may see whom: the one scope rule every staff read and decision applies.

A member of staff covers a region ('*' for every region) and, optionally, one site of it.
Out of scope looks exactly like absent, so callers turn "not covered" into null or NOT_FOUND.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from tortoise.expressions import Q

from models import StaffUser

EVERY_REGION = "*"


class Placed(Protocol):
    """Anything that sits in a region and site: a candidate row, a queue event."""

    @property
    def region(self) -> str: ...

    @property
    def site(self) -> str: ...


@dataclass(frozen=True)
class Scope:
    region: str  # EVERY_REGION for nationwide staff
    site: str | None = None

    @classmethod
    def of(cls, staff: StaffUser) -> Scope:
        return cls(region=staff.region, site=staff.site)

    @property
    def nationwide(self) -> bool:
        return self.region == EVERY_REGION

    def covers(self, candidate: Placed) -> bool:
        return self.covers_area(candidate.region, candidate.site)

    def covers_area(self, region: str, site: str | None) -> bool:
        """Whether an area (a region, or a site of it) lies wholly inside this scope."""
        if not self.nationwide and region != self.region:
            return False
        return self.site is None or site == self.site

    def filter(self, via: str = "") -> Q:
        """The query condition for candidates in scope; `via` reaches them through a relation
        (e.g. "candidate__" from attachments)."""
        condition = Q()
        if not self.nationwide:
            condition &= Q(**{f"{via}region": self.region})
        if self.site is not None:
            condition &= Q(**{f"{via}site": self.site})
        return condition

    def narrowed(self, region: str | None, site: str | None) -> Scope | None:
        """The part of this scope a caller asked for (default: all of it); None outside it."""
        wanted = Scope(region=(region or "").strip() or self.region, site=(site or "").strip() or self.site)
        return wanted if self.covers_area(wanted.region, wanted.site) else None

"""Which material categories apply to a candidate, and whether each is required."""

from __future__ import annotations

from dataclasses import dataclass

from core.context import Catalog
from models import Candidate, MaterialCategory


@dataclass(frozen=True)
class Requirement:
    category: MaterialCategory
    required: bool


def requirements_for(catalog: Catalog, candidate: Candidate) -> list[Requirement]:
    """The categories that apply to this candidate, in display order."""
    required: dict[int, bool] = {}
    for rule in catalog.rules:
        if rule.matches(candidate):
            required[rule.category_id] = required.get(rule.category_id, False) or rule.required
    found = [
        Requirement(catalog.categories[cid], req)
        for cid, req in required.items()
        if cid in catalog.categories
    ]
    found.sort(key=lambda r: (r.category.position, r.category.id))
    return found

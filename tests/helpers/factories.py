"""Rows for the tests, made through the same admin code the CLI uses."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.security import hash_password
from models import Candidate, MaterialCategory, StaffUser
from models.enums import Role
from server.demo import load_categories
from tests.helpers.service import Service

PASSWORD = "test-pass-2026"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow by design: hash once
_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_serial)}_{uuid.uuid4().hex[:6]}"


async def load_demo_categories(service: Service, folder: Path) -> dict[str, MaterialCategory]:
    """The demo's four categories (rules for every region), keyed by code."""
    with service.db():
        await load_categories(service.services.store, folder)
        return {c.code: c for c in await MaterialCategory.all()}


async def make_candidate(
    service: Service,
    region: str = "山东省",
    site: str = "济南",
    exam_category_code: str = "2020110",
    profile: bool = True,
    **values: Any,
) -> Candidate:
    username = unique("cand")
    registered = datetime(2026, 3, 1, 1, 30, tzinfo=UTC)
    fields: dict[str, Any] = {
        "username": username,
        "password_hash": _PASSWORD_HASH,
        "name": f"考生{username}",
        "admission_no": unique("A"),
        "exam_category_code": exam_category_code,
        "exam_category_name": "临床执业医师",
        "region": region,
        "site": site,
        "stage": "报名",
        "registered_at": registered,
        "queue_at": registered,
    }
    if profile:
        fields.update(phone="13800138000", address="山东省济南市历下区经十路 1 号")
    fields.update(values)
    with service.db():
        return await Candidate.create(**fields)


async def make_staff(
    service: Service,
    region: str = "山东省",
    site: str | None = "济南",
    role: Role = Role.EXAMINER,
) -> StaffUser:
    username = unique("staff")
    with service.db():
        return await StaffUser.create(
            username=username,
            password_hash=_PASSWORD_HASH,
            name=f"审核员{username}",
            role=role,
            region=region,
            site=site,
        )

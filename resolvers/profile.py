"""The candidate's phone and address: changeable at any time, checked before anything is saved."""

from __future__ import annotations

import re

from core.context import Context
from core.errors import ErrorCode, Problem, Rejected
from models import Candidate
from models.enums import AuditAction
from resolvers.audit import write_audit
from resolvers.auth import require_candidate
from resolvers.locking import candidate_for_update

_PHONE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits only: \d also matches full-width ones
_PHONE_NOISE = re.compile(r"[\s\-()]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
ADDRESS_MAX = 200


def normalise_phone(raw: str) -> str:
    phone = _PHONE_NOISE.sub("", raw)
    for prefix in ("+86", "0086"):
        phone = phone.removeprefix(prefix)
    return phone


def _address_problem(address: str) -> Problem | None:
    if not address:
        return Problem(ErrorCode.INVALID_INPUT, "请填写联系地址。", "address")
    if len(address) > ADDRESS_MAX:
        return Problem(
            ErrorCode.INVALID_INPUT,
            f"联系地址最多 {ADDRESS_MAX} 个字，目前 {len(address)} 个字。",
            "address",
        )
    if _CONTROL.search(address):
        return Problem(ErrorCode.INVALID_INPUT, "联系地址含有无法识别的字符。", "address")
    return None


async def update_profile(ctx: Context, phone: str, address: str) -> Candidate:
    candidate = require_candidate(ctx)
    problems = []
    phone = normalise_phone(phone)
    if not _PHONE.match(phone):
        problems.append(
            Problem(ErrorCode.INVALID_PHONE, "手机号码应为 11 位大陆手机号，以 1 开头。", "phone")
        )
    address = " ".join(address.split())
    if (problem := _address_problem(address)) is not None:
        problems.append(problem)
    if problems:
        raise Rejected(*problems)
    async with candidate_for_update(candidate.id) as locked:
        locked.phone, locked.address = phone, address
        await locked.save(update_fields=["phone", "address", "updated_at"])
        await write_audit(locked, AuditAction.PROFILE, ctx.viewer, locked.status)
    return locked

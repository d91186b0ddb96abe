"""The one clock, and times written the way people in China read them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_text(moment: datetime, tz: ZoneInfo) -> str:
    """`2026/12/1 07:16:47` in the service's zone (Beijing time by default), as the guide writes it."""
    local = moment.astimezone(tz)
    return f"{local.year}/{local.month}/{local.day} {local:%H:%M:%S}"


def month_day_text(moment: datetime, tz: ZoneInfo) -> str:
    """`12月1日 07:16`, for estimates a person reads at a glance."""
    local = moment.astimezone(tz)
    return f"{local.month}月{local.day}日 {local:%H:%M}"

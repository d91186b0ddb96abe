"""Reading ids that arrive from callers: anything malformed is simply "no such record"."""

from __future__ import annotations

import uuid


def parse_int_id(value: object) -> int | None:
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value).strip())
    except ValueError:
        return None

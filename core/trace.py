"""What one request did, gathered while it runs: its log line and its metric labels come from here.

The outermost ASGI layer creates the trace and writes the log line; the GraphQL layer fills in
the operation, the viewer and the outcome. The id is the one a person can quote from an error.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    """How an answer turned out, for the log line and the `outcome` label."""

    OK = "ok"
    # A payload carried `errors`: something the person can fix.
    REJECTED = "rejected"
    # The caller's mistake: access refused, a bad document, a 4xx.
    CLIENT_ERROR = "client_error"
    # Something broke on our side: a masked error or a 5xx.
    SERVER_ERROR = "server_error"


def new_request_id() -> str:
    """16 hex digits: short enough to read off a screenshot, unique across a season's requests."""
    return secrets.token_hex(8)


@dataclass
class RequestTrace:
    request_id: str = field(default_factory=new_request_id)
    started: float = field(default_factory=time.perf_counter)
    # The GraphQL operation as labelled in /metrics ("anonymous" when unnamed), and its type.
    operation: str | None = None
    operation_type: str | None = None
    outcome: Outcome | None = None
    viewer_role: str | None = None
    viewer_id: int | None = None
    # The unexpected failure behind a masked error: `ExceptionType: message`.
    error: str | None = None
    # Set when a payload answered with `errors`.
    rejected: bool = False

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

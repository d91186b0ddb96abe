"""Who opened a candidate's original pictures: recorded off the request path, read by ADMIN.

Serving a picture only notes the opening in memory; a background task writes the notes in
batches (every second, or sooner when a batch fills), and once more when the worker stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from core.clock import utcnow
from core.context import Context
from core.errors import BadArgument
from core.ids import parse_int_id
from models import Candidate, PictureAccess, StaffUser
from models.enums import Role
from resolvers.auth import require_scope

log = logging.getLogger(__name__)

ACCESS_LOG_MAX = 100
# While the database is away, notes wait in memory up to this many; older ones are dropped.
MAX_PENDING = 50_000


@dataclass(frozen=True)
class Opening:
    staff_id: int
    candidate_id: int
    attachment_id: uuid.UUID
    category_id: int
    at: datetime


class PictureAccessRecorder:
    """An in-process buffer of openings, flushed in batches by `run()`."""

    def __init__(self, flush_seconds: float = 1.0, batch: int = 200) -> None:
        self.flush_seconds = flush_seconds
        self.batch = batch
        self._pending: list[Opening] = []
        self._batch_full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def record(self, staff_id: int, candidate_id: int, attachment_id: uuid.UUID, category_id: int) -> None:
        """Note one opening; never waits and never fails the request that serves the picture."""
        self._pending.append(Opening(staff_id, candidate_id, attachment_id, category_id, utcnow()))
        if len(self._pending) >= self.batch:
            self._batch_full.set()
        if len(self._pending) > MAX_PENDING:
            excess = len(self._pending) - MAX_PENDING
            del self._pending[:excess]
            self.dropped += excess
            log.error("picture access log: database away, %d oldest openings dropped", excess)

    def start(self) -> None:
        """Run the flusher in the current task's context (which carries the ORM)."""
        self._task = asyncio.create_task(self._run(), name="picture-access-log")

    async def close(self) -> None:
        """Stop the flusher and write what is still pending."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while self._pending and await self.flush():
            pass
        if self._pending:
            log.error("picture access log: %d openings not written at shutdown", len(self._pending))

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can lose close()'s cancellation.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_seconds):
                    await self._batch_full.wait()
            self._batch_full.clear()
            while await self.flush() >= self.batch:
                pass  # a backlog: keep writing full batches

    async def flush(self) -> int:
        """Write one batch; returns how many were written (0 when the database refused)."""
        batch, self._pending = self._pending[: self.batch], self._pending[self.batch :]
        if not batch:
            return 0
        try:
            staff = {s.id: s for s in await StaffUser.filter(id__in={o.staff_id for o in batch})}
            rows = [
                PictureAccess(
                    candidate_id=o.candidate_id,
                    attachment_id=o.attachment_id,
                    category_id=o.category_id,
                    staff_id=o.staff_id,
                    viewer_name=staff[o.staff_id].name,
                    viewer_role=staff[o.staff_id].role,
                    at=o.at,
                )
                for o in batch
                if o.staff_id in staff  # a link outliving its member of staff names nobody
            ]
            await PictureAccess.bulk_create(rows)
        except Exception as exc:
            self._pending[:0] = batch
            log.warning("picture access log: %d openings wait, write failed: %r", len(batch), exc)
            return 0
        return len(batch)


async def access_log_of(ctx: Context, candidate_id: str, first: int) -> list[PictureAccess]:
    """Openings of the candidate's original pictures, newest first (ADMIN); [] when absent or
    out of scope."""
    scope = require_scope(ctx, Role.ADMIN)
    if first < 1 or first > ACCESS_LOG_MAX:
        raise BadArgument(f"first 应在 1 到 {ACCESS_LOG_MAX} 之间。")
    pk = parse_int_id(candidate_id)
    if pk is None or not await Candidate.filter(scope.filter(), id=pk).exists():
        return []
    return await PictureAccess.filter(candidate_id=pk).order_by("-at", "-id").limit(first)

"""Pictures that look the same: the fingerprint of every stored picture, the picture an examiner
asked to replace coming back (SAME_AS_REJECTED), and other candidates' look-alike pictures.

Finding every hash within distance d among millions is a multi-index lookup: the 64 bits are
cut into four 16-bit blocks, and two hashes within distance d agree on at least one block up
to d // 4 bits (four blocks could not otherwise hold d differing bits). So a lookup probes,
per block, the block's own value and every value one bit away (4 x 17 index probes for d = 6),
and checks the full distance of what those probes find. bench/lookalikes.py measures it
against the alternatives at 5,000,000 hashes.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise import connections
from tortoise.expressions import Q

from core.context import Context
from core.errors import ErrorCode, Rejected
from core.scope import Scope
from models import Attachment, Candidate, PictureFingerprint
from models.enums import AttachmentVerdict
from storage.measures import hash_distance

BLOCK_COUNT = 4
BLOCK_BITS = 64 // BLOCK_COUNT
_BLOCK_MASK = (1 << BLOCK_BITS) - 1
_BLOCK_FIELDS = tuple(f"block{i}" for i in range(BLOCK_COUNT))

SAME_AS_REJECTED_MESSAGE = "这张照片与审核员要求更换的照片相同，请重新拍摄后上传。"


def signed(phash: int) -> int:
    """The unsigned 64-bit hash as the signed integer both engines store."""
    return phash - (1 << 64) if phash >= 1 << 63 else phash


def unsigned(stored: int) -> int:
    return stored & ((1 << 64) - 1)


def blocks(phash: int) -> tuple[int, ...]:
    """The hash's 16-bit blocks, most significant first."""
    return tuple(
        (phash >> (BLOCK_BITS * (BLOCK_COUNT - 1 - i))) & _BLOCK_MASK for i in range(BLOCK_COUNT)
    )


def probes(block: int, radius: int) -> list[int]:
    """Every block value within `radius` bits of `block`, itself first."""
    found = [block]
    for flips in range(1, radius + 1):
        for bits in itertools.combinations(range(BLOCK_BITS), flips):
            value = block
            for bit in bits:
                value ^= 1 << bit
            found.append(value)
    return found


async def record_fingerprint(attachment: Attachment, phash: int) -> PictureFingerprint:
    """Inside the upload's transaction: the new picture's hash, in the index."""
    block0, block1, block2, block3 = blocks(phash)
    return await PictureFingerprint.create(
        attachment_id=attachment.id,
        candidate_id=attachment.candidate_id,
        category_id=attachment.category_id,
        phash=signed(phash),
        block0=block0,
        block1=block1,
        block2=block2,
        block3=block3,
        uploaded_at=attachment.uploaded_at,
    )


async def picture_deleted(attachment_id: UUID, at: datetime) -> None:
    """Inside the delete's transaction: the hash stays, no longer a current picture."""
    await PictureFingerprint.filter(attachment_id=attachment_id).update(deleted_at=at)


async def verdict_given(attachment_id: UUID, verdict: AttachmentVerdict, at: datetime) -> None:
    """Inside the verdict's transaction: the hash row follows the picture's verdict, and
    remembers for good that a replacement was asked for."""
    await PictureFingerprint.filter(attachment_id=attachment_id).update(verdict=verdict)
    if verdict == AttachmentVerdict.NEEDS_REPLACEMENT:
        await PictureFingerprint.filter(
            attachment_id=attachment_id, replacement_asked_at__isnull=True
        ).update(replacement_asked_at=at)


async def refuse_if_rejected_before(candidate_id: int, phash: int, distance: int) -> None:
    """SAME_AS_REJECTED when the candidate sends back a picture an examiner asked to replace
    (deleted since or not): compared with the candidate's own few such pictures."""
    rejected: list[int] = await PictureFingerprint.filter(
        candidate_id=candidate_id, replacement_asked_at__isnull=False
    ).values_list("phash", flat=True)  # type: ignore[assignment]
    if any(hash_distance(unsigned(h), phash) <= distance for h in rejected):
        raise Rejected.one(ErrorCode.SAME_AS_REJECTED, SAME_AS_REJECTED_MESSAGE, "file")


@dataclass(frozen=True)
class Match:
    """Another candidate's current picture close to a given one."""

    attachment_id: str
    candidate_id: int
    category_id: int
    distance: int


async def matches_of(attachment_id: UUID, owner_id: int, distance: int) -> list[Match]:
    """Other candidates' current pictures within `distance` of this picture, nearest first."""
    own: list[int] = await PictureFingerprint.filter(attachment_id=attachment_id).values_list(
        "phash", flat=True
    )  # type: ignore[assignment]
    if not own:  # stored before fingerprints existed
        return []
    phash = unsigned(own[0])
    radius = distance // BLOCK_COUNT
    probed = [probes(b, radius) for b in blocks(phash)]
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        rows = await _matches_in_sql(connection, phash, owner_id, probed, distance)
    else:
        rows = await _matches_in_python(phash, owner_id, probed, distance)
    return sorted(rows, key=lambda m: (m.distance, m.candidate_id, m.attachment_id))


# bit_count(bit) is PostgreSQL 14+; the distance is checked in the index's own rows, so only
# real matches leave the database.
_MATCHES_SQL = """
SELECT attachment_id::text AS attachment_id, candidate_id, category_id, distance FROM (
  SELECT attachment_id, candidate_id, category_id, deleted_at,
         bit_count((phash # $1)::bit(64)) AS distance
  FROM picture_fingerprint
  WHERE block0 = ANY($3::int[]) OR block1 = ANY($4::int[])
     OR block2 = ANY($5::int[]) OR block3 = ANY($6::int[])
) probed
WHERE distance <= $7 AND deleted_at IS NULL AND candidate_id <> $2
"""


async def _matches_in_sql(
    connection: object, phash: int, owner_id: int, probed: Sequence[list[int]], distance: int
) -> list[Match]:
    rows = await connection.execute_query_dict(  # type: ignore[attr-defined]
        _MATCHES_SQL, [signed(phash), owner_id, *probed, distance]
    )
    return [
        Match(str(r["attachment_id"]), r["candidate_id"], r["category_id"], r["distance"])
        for r in rows
    ]


async def _matches_in_python(
    phash: int, owner_id: int, probed: Sequence[list[int]], distance: int
) -> list[Match]:
    conditions: list[dict[str, Any]] = [
        {f"{name}__in": values} for name, values in zip(_BLOCK_FIELDS, probed, strict=True)
    ]
    near = Q(*(Q(**condition) for condition in conditions), join_type=Q.OR)
    rows = await (
        PictureFingerprint.filter(near, deleted_at__isnull=True)
        .exclude(candidate_id=owner_id)
        .values_list("attachment_id", "candidate_id", "category_id", "phash")
    )
    found = []
    for attachment_id, candidate_id, category_id, stored in rows:
        apart = hash_distance(unsigned(stored), phash)
        if apart <= distance:
            found.append(Match(str(attachment_id), candidate_id, category_id, apart))
    return found


@dataclass(frozen=True)
class Lookalike:
    match: Match
    candidate: Candidate


async def lookalikes_in_scope(matches: list[Match], scope: Scope) -> list[Lookalike]:
    """The matches whose owner the caller may see, with the owner (out of scope is absent)."""
    if not matches:
        return []
    owners = {
        c.id: c
        for c in await Candidate.filter(scope.filter(), id__in={m.candidate_id for m in matches})
    }
    return [Lookalike(m, owners[m.candidate_id]) for m in matches if m.candidate_id in owners]


@dataclass(frozen=True)
class Lookalikes:
    in_scope: list[Lookalike]
    count: int  # in every scope


async def lookalikes_for(ctx: Context, attachment: Attachment, owner: Candidate) -> Lookalikes:
    """For staff: other candidates' current pictures like this one, those in the caller's
    scope listed, all of them counted. Candidates learn nothing of others (empty, 0)."""
    scope = ctx.viewer.scope if ctx.viewer is not None else None
    if scope is None:
        return Lookalikes([], 0)
    matches = await matches_of(attachment.id, owner.id, ctx.services.settings.lookalike_distance)
    return Lookalikes(await lookalikes_in_scope(matches, scope), len(matches))

"""Pictures that look the same: the fingerprint of every stored picture, the picture an examiner
asked to replace coming back (SAME_AS_REJECTED), and other candidates' look-alike pictures.

Look-alikes are found once, when a picture is uploaded, and kept as pairs: reading a picture's
look-alikes is then one index range, however many pictures the service holds. The search at
upload is a multi-index lookup: the 64 bits are dealt into three blocks (bit i into block
i mod 3), and two hashes within distance d agree on at least one block up to d // 3 bits (three
blocks could not otherwise hold d differing bits). So it probes, per block, every value within
that many bits (3 x 254 probes for d = 6) in an index that also holds the hash, and checks the
full distance there. It runs while the picture's bytes are written, so it adds no time to an
upload. bench/lookalikes.py measures both at 5,000,000 pictures, against the alternatives.

Two candidates uploading the same picture at the same instant do not see each other's upload;
the exact-match index on the hash catches that case when the look-alikes are read.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from tortoise import connections

from core.context import Context
from core.errors import ErrorCode, Rejected
from core.scope import Scope
from models import Attachment, Candidate, LookalikePair, PictureFingerprint
from models.enums import AttachmentVerdict
from storage.measures import hash_distance

BLOCK_COUNT = 3
# Bit positions of each block, counted from the most significant bit.
_BLOCK_POSITIONS = tuple(tuple(range(k, 64, BLOCK_COUNT)) for k in range(BLOCK_COUNT))
_BLOCK_FIELDS = tuple(f"block{k}" for k in range(BLOCK_COUNT))

SAME_AS_REJECTED_MESSAGE = "这张照片与审核员要求更换的照片相同，请重新拍摄后上传。"


def signed(phash: int) -> int:
    """The unsigned 64-bit hash as the signed integer both engines store."""
    return phash - (1 << 64) if phash >= 1 << 63 else phash


def unsigned(stored: int) -> int:
    return stored & ((1 << 64) - 1)


def blocks(phash: int) -> tuple[int, ...]:
    """The hash's blocks: block k packs bits k, k + 3, k + 6, … (from the most significant)."""
    found = []
    for positions in _BLOCK_POSITIONS:
        value = 0
        for position in positions:
            value = (value << 1) | ((phash >> (63 - position)) & 1)
        found.append(value)
    return tuple(found)


def probes(block: int, width: int, radius: int) -> list[int]:
    """Every value of a `width`-bit block within `radius` bits of `block`, itself first."""
    return [block ^ mask for mask in _masks(width, radius)]


@functools.cache
def _masks(width: int, radius: int) -> tuple[int, ...]:
    # The same few hundred flip masks serve every upload: made once, not per picture.
    found = [0]
    for flips in range(1, radius + 1):
        for bits in itertools.combinations(range(width), flips):
            found.append(sum(1 << bit for bit in bits))
    return tuple(found)


def probe_sets(phash: int, distance: int) -> list[list[int]]:
    radius = distance // BLOCK_COUNT
    return [
        probes(value, len(positions), radius)
        for value, positions in zip(blocks(phash), _BLOCK_POSITIONS, strict=True)
    ]


async def record_fingerprint(attachment: Attachment, phash: int) -> PictureFingerprint:
    """Inside the upload's transaction: the new picture's hash, in the index."""
    block0, block1, block2 = blocks(phash)
    return await PictureFingerprint.create(
        attachment_id=attachment.id,
        candidate_id=attachment.candidate_id,
        category_id=attachment.category_id,
        phash=signed(phash),
        block0=block0,
        block1=block1,
        block2=block2,
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


async def nearby(phash: int, distance: int, owner_id: int, kept: int) -> list[Match]:
    """The search at upload: other candidates' current pictures within `distance` of a hash,
    the `kept` nearest. One picture sent by thousands (a sample form, a template) would
    otherwise make every upload record thousands of pairs."""
    probed = probe_sets(phash, distance)
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        rows = await connection.execute_query_dict(
            _NEARBY_SQL, [signed(phash), *probed, distance, owner_id, kept]
        )
        found = [
            Match(str(r["attachment_id"]), r["candidate_id"], r["category_id"], r["distance"])
            for r in rows
        ]
    else:
        found = await _nearby_in_python(connection, phash, probed, distance, owner_id)
    return sorted(found, key=_nearest_first)[:kept]


def _nearest_first(match: Match) -> tuple[int, int, str]:
    return (match.distance, match.candidate_id, match.attachment_id)


# Each block's probes read only its index (block, phash, id); bit_count(bit) is PostgreSQL 14+.
# Only the few real matches are then read from the table.
_NEARBY_SQL = """
WITH near AS (
  SELECT id FROM picture_fingerprint
   WHERE block0 = ANY($2::int[]) AND bit_count((phash # $1)::bit(64)) <= $5
  UNION
  SELECT id FROM picture_fingerprint
   WHERE block1 = ANY($3::int[]) AND bit_count((phash # $1)::bit(64)) <= $5
  UNION
  SELECT id FROM picture_fingerprint
   WHERE block2 = ANY($4::int[]) AND bit_count((phash # $1)::bit(64)) <= $5
)
SELECT f.attachment_id::text AS attachment_id, f.candidate_id, f.category_id,
       bit_count((f.phash # $1)::bit(64)) AS distance
  FROM near JOIN picture_fingerprint f ON f.id = near.id
 WHERE f.deleted_at IS NULL AND f.candidate_id <> $6
 ORDER BY distance, f.candidate_id, f.attachment_id
 LIMIT $7
"""


async def _nearby_in_python(
    connection: Any, phash: int, probed: Sequence[list[int]], distance: int, owner_id: int
) -> list[Match]:
    # The probes go in as literal integers (ours, never the caller's): building a query of 718
    # parameters through the ORM costs more than running it.
    near = " OR ".join(
        f"{name} IN ({','.join(map(str, values))})"
        for name, values in zip(_BLOCK_FIELDS, probed, strict=True)
    )
    rows = await connection.execute_query_dict(
        "SELECT attachment_id, candidate_id, category_id, phash FROM picture_fingerprint"
        f" WHERE ({near}) AND deleted_at IS NULL AND candidate_id <> ?",
        [owner_id],
    )
    found = []
    for row in rows:
        apart = hash_distance(unsigned(int(row["phash"])), phash)
        if apart <= distance:
            found.append(
                Match(str(row["attachment_id"]), row["candidate_id"], row["category_id"], apart)
            )
    return found


async def record_pairs(attachment_id: UUID, found: list[Match]) -> None:
    """Inside the upload's transaction: the look-alikes found, kept in both directions."""
    if not found:
        return
    await LookalikePair.bulk_create(
        [
            pair
            for match in found
            for pair in (
                LookalikePair(
                    attachment_id=attachment_id,
                    other_attachment_id=UUID(match.attachment_id),
                    distance=match.distance,
                ),
                LookalikePair(
                    attachment_id=UUID(match.attachment_id),
                    other_attachment_id=attachment_id,
                    distance=match.distance,
                ),
            )
        ],
        ignore_conflicts=True,
    )


async def matches_of(attachment_id: UUID, owner_id: int, kept: int) -> tuple[list[Match], int]:
    """Other candidates' current pictures like this one — the pairs found at upload, and any
    picture with the very same hash (one uploaded in the same instant) — the `kept` nearest,
    and how many there are in all. One statement, an index range however many there are."""
    own: list[int] = await PictureFingerprint.filter(attachment_id=attachment_id).values_list(
        "phash", flat=True
    )  # type: ignore[assignment]
    if not own:  # stored before fingerprints existed
        return [], 0
    connection = connections.get("default")
    sqlite = connection.capabilities.dialect == "sqlite"
    rows = await connection.execute_query_dict(
        _MATCHES_SQL_SQLITE if sqlite else _MATCHES_SQL,
        [str(attachment_id) if sqlite else attachment_id, own[0], owner_id, kept],
    )
    found = [
        Match(str(r["attachment_id"]), r["candidate_id"], r["category_id"], int(r["distance"]))
        for r in rows
    ]
    return found, int(rows[0]["total"]) if rows else 0


# `$n` are positional on PostgreSQL; on SQLite they become `?n`, the same numbered parameters.
_MATCHES_SQL = """
SELECT f.attachment_id AS attachment_id, f.candidate_id AS candidate_id,
       f.category_id AS category_id, MIN(m.distance) AS distance, COUNT(*) OVER () AS total
  FROM (SELECT p.other_attachment_id AS other, p.distance AS distance
          FROM lookalike_pair p WHERE p.attachment_id = $1
        UNION ALL
        SELECT g.attachment_id, 0 FROM picture_fingerprint g
         WHERE g.phash = $2 AND g.attachment_id <> $1) m
  JOIN picture_fingerprint f ON f.attachment_id = m.other
 WHERE f.deleted_at IS NULL AND f.candidate_id <> $3
 GROUP BY f.attachment_id, f.candidate_id, f.category_id
 ORDER BY distance, f.candidate_id, f.attachment_id
 LIMIT $4
"""
_MATCHES_SQL_SQLITE = _MATCHES_SQL.replace("$", "?")


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
    matches, total = await matches_of(
        attachment.id, owner.id, ctx.services.settings.lookalikes_kept
    )
    return Lookalikes(await lookalikes_in_scope(matches, scope), total)

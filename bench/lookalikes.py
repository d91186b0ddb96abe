"""Part 5: look-alike pictures at national scale on PostgreSQL.

5,000,000 picture fingerprints (1,000,000 candidates, five pictures each) go in by COPY, with
hashes as the service computes them from photos of documents, not uniform random bits: a pool
of real hashes comes from the test suite's document generator (identity cards, diplomas,
certificate pages, dark cards, each photographed by hand), and the five million are a mosaic of
it: each of the hash's eight sample rows (8 bits, neighbouring cells of one picture row) is
copied from a random pool hash of the same kind of document. That keeps each bit's bias and the
correlation of neighbouring bits, which is what makes blocks of similar documents collide. 0.2 %
of the pictures are another candidate's picture again (re-encoded: up to 3 bits flipped), with
their look-alike pairs; 3 % are deleted.

Measured, in this process, through the service's own code (resolvers/lookalikes.py on Tortoise):
- the lookup an examiner's `lookalikes` / `lookalikeCount` make: the pairs found at upload,
  the exact-match probe, the owners in scope;
- the search an upload makes (`nearby`), three dealt blocks probed within two bits;
and for the choice of that scheme, the same search by asyncpg with four contiguous 16-bit
blocks probed within one bit, and two 32-bit halves probed within three.
"""

from __future__ import annotations

import asyncio
import functools
import io
import random
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import (
    EXAM_REVIEW,
    Figure,
    copy_pipelined,
    indexes_after,
    log,
    orm,
    password_hash,
    percentile,
    pg_database,
    service_env,
)
from bench.examiner_queue import COLUMNS as CANDIDATE_COLUMNS
from bench.examiner_queue import records as candidate_records
from bench.examiner_queue import recount
from core.settings import Settings

# Look-alikes kept and listed per picture: the service's default (core/settings.py).
KEPT = Settings.lookalikes_kept

KINDS = ("id_card", "diploma", "certificate", "dark_card")


@dataclass(frozen=True)
class LookalikeParams:
    pictures: int = 5_000_000
    per_candidate: int = 5
    pool_per_kind: int = 120
    duplicate_share: float = 0.002
    deleted_share: float = 0.03
    queries: int = 200
    rounds: int = 3
    chunk: int = 250_000


def hash_pool(per_kind: int) -> dict[str, list[int]]:
    """Real hashes: the service's own measure on generated photos of each kind of document."""
    from PIL import Image

    from storage.measures import measure
    from tests.helpers import documents

    makers = {**documents.DOCUMENTS, "dark_card": documents.dark_card}
    pool: dict[str, list[int]] = {}
    for kind in KINDS:
        found = []
        for seed in range(50_000, 50_000 + per_kind):
            data = documents.photograph(makers[kind](seed), seed, size=(640, 480))
            with Image.open(io.BytesIO(data)) as image:
                image.draft("RGB", (320, 320))
                found.append(measure(image.convert("RGB")).phash)
        pool[kind] = found
    return pool


_ROW_MASKS = tuple(0xFF << (56 - 8 * row) for row in range(8))


def mosaic(pool: list[int], rng: random.Random) -> int:
    # Eight disjoint byte masks, so the sum is the bitwise OR of the rows.
    return sum(h & m for h, m in zip(rng.choices(pool, k=8), _ROW_MASKS, strict=True))


@functools.cache
def _block_tables() -> tuple[tuple[tuple[int, ...], ...], ...]:
    """Each byte's share of the service's blocks: the blocks of disjoint bits OR together."""
    from resolvers.lookalikes import blocks

    return tuple(tuple(blocks(v << (56 - 8 * b)) for v in range(256)) for b in range(8))


def fast_blocks(phash: int) -> tuple[int, int, int]:
    """`resolvers.lookalikes.blocks` by table, a byte at a time (five times faster for the fill)."""
    tables = _block_tables()
    b0 = b1 = b2 = 0
    for b in range(8):
        x0, x1, x2 = tables[b][(phash >> (56 - 8 * b)) & 0xFF]
        b0 |= x0
        b1 |= x1
        b2 |= x2
    return b0, b1, b2


def reencoded(phash: int, rng: random.Random) -> int:
    for bit in rng.sample(range(64), rng.randint(0, 3)):
        phash ^= 1 << bit
    return phash


def split16(phash: int) -> list[int]:
    return [(phash >> shift) & 0xFFFF for shift in (48, 32, 16, 0)]


def split32(phash: int) -> list[int]:
    return [_signed32(phash >> 32), _signed32(phash & 0xFFFFFFFF)]


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


FINGERPRINT_COLUMNS = (
    "attachment_id", "candidate_id", "category_id", "phash", "block0", "block1", "block2",
    "verdict", "uploaded_at", "deleted_at", "q0", "q1", "q2", "q3", "h0", "h1",
)


async def fill(url: str, params: LookalikeParams, pool: dict[str, list[int]]) -> dict[str, Any]:
    """Candidates, categories, fingerprints and pairs by COPY; the comparison schemes' columns."""
    from resolvers.lookalikes import blocks, signed

    rng = random.Random(2026)
    check = random.Random(1)
    assert all(fast_blocks(h) == blocks(h) for h in (check.getrandbits(64) for _ in range(1000)))
    candidates = params.pictures // params.per_candidate
    conn = await asyncpg.connect(url)
    started = time.perf_counter()
    try:
        # Loaded as a restore loads: no per-row triggers (the queue counts, and the foreign-key
        # checks of ten million references, which took longer than the rows themselves). The
        # rows are made consistent here, and the counts are made once at the end.
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        hashed = password_hash()
        async with indexes_after(conn, "candidate"):
            await copy_pipelined(conn, "candidate", CANDIDATE_COLUMNS, (
                functools.partial(candidate_records, start, min(params.chunk, candidates - start), hashed, rng)
                for start in range(0, candidates, params.chunk)
            ))
        first_candidate = await conn.fetchval("SELECT min(id) FROM candidate")
        categories = []
        for position, kind in enumerate(KINDS):
            categories.append(await conn.fetchval(
                "INSERT INTO material_category (code, name, instructions, min_count, max_count,"
                " max_bytes, formats, position) VALUES ($1, $2, '', 1, 2, 204800, '[\"jpeg\"]', $3)"
                " RETURNING id", f"BENCH_{kind.upper()}", f"压测{kind}", position,
            ))
        # The comparison schemes' columns and indexes live only in this benchmark's database.
        await conn.execute(
            "ALTER TABLE picture_fingerprint ADD COLUMN q0 int, ADD COLUMN q1 int,"
            " ADD COLUMN q2 int, ADD COLUMN q3 int, ADD COLUMN h0 int, ADD COLUMN h1 int"
        )
        now = datetime.now(UTC)
        stored: list[tuple[uuid.UUID, int, int]] = []  # a sample to look up later
        pairs: list[tuple[uuid.UUID, uuid.UUID, int]] = []
        recent: list[tuple[uuid.UUID, int, int]] = []  # pictures a duplicate may copy

        def fingerprints(start: int) -> list[tuple[Any, ...]]:
            nonlocal recent
            rows = []
            for i in range(start, min(params.pictures, start + params.chunk)):
                kind_index = rng.randrange(len(KINDS))
                candidate_id = first_candidate + i // params.per_candidate
                attachment = uuid.uuid4()
                if recent and rng.random() < params.duplicate_share:
                    other, other_owner, other_hash = recent[rng.randrange(len(recent))]
                    phash = reencoded(other_hash, rng)
                    if other_owner != candidate_id:
                        apart = (phash ^ other_hash).bit_count()
                        pairs.extend([(attachment, other, apart), (other, attachment, apart)])
                else:
                    phash = mosaic(pool[KINDS[kind_index]], rng)
                deleted = now if rng.random() < params.deleted_share else None
                rows.append((
                    attachment, candidate_id, categories[kind_index], signed(phash),
                    *fast_blocks(phash), "PENDING", now - timedelta(seconds=i), deleted,
                    *split16(phash), *split32(phash),
                ))
                if deleted is None:
                    if rng.random() < 0.01:
                        recent.append((attachment, candidate_id, phash))
                        recent = recent[-5000:]
                    if rng.random() < 0.0005:
                        stored.append((attachment, candidate_id, phash))
            return rows

        # Bulk load first, index after (the service's own indexes are made again just the same).
        async with indexes_after(conn, "picture_fingerprint"):
            await copy_pipelined(
                conn, "picture_fingerprint", FINGERPRINT_COLUMNS,
                (functools.partial(fingerprints, start) for start in range(0, params.pictures, params.chunk)),
                on_chunk=lambda done: log(f"lookalikes: {done:,} fingerprints"),
            )
        await conn.copy_records_to_table(
            "lookalike_pair", records=pairs,
            columns=("attachment_id", "other_attachment_id", "distance"),
        )
        await conn.execute("RESET session_replication_role")
        await recount(conn)
        for column in ("q0", "q1", "q2", "q3", "h0", "h1"):
            await conn.execute(f"CREATE INDEX ON picture_fingerprint ({column}, phash, id)")
        await conn.execute("VACUUM (ANALYZE) picture_fingerprint")
        await conn.execute("VACUUM (ANALYZE) lookalike_pair")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('picture_fingerprint'))")
    finally:
        await conn.close()
    return {
        "seconds": time.perf_counter() - started, "candidates": candidates, "pairs": len(pairs),
        "sample": stored, "duplicated": [p[0] for p in pairs[::2]], "size": size,
    }


def _union(columns: list[str]) -> str:
    parts = [
        f"SELECT id FROM picture_fingerprint WHERE {column} = ANY(${k + 2}::int[])"
        f" AND bit_count((phash # $1)::bit(64)) <= 6"
        for k, column in enumerate(columns)
    ]
    return (
        "WITH near AS (" + " UNION ".join(parts) + ") SELECT count(*) FROM near"
        " JOIN picture_fingerprint f ON f.id = near.id WHERE f.deleted_at IS NULL"
    )


async def timed(rounds: int, calls: list[Any]) -> tuple[Figure, Figure]:
    p50, p99 = Figure(), Figure()
    for _ in range(rounds):
        samples = []
        for call in calls:
            started = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - started) * 1000)
        p50.add(percentile(samples, 50))
        p99.add(percentile(samples, 99))
    return p50, p99


async def measure_all(
    folder: Path, url: str, params: LookalikeParams, pool: dict[str, list[int]], filled: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[str]]:
    from core.scope import Scope
    from resolvers import lookalikes
    from resolvers.lookalikes import probe_sets, signed

    rng = random.Random(7)
    fresh = [mosaic(pool[KINDS[rng.randrange(len(KINDS))]], rng) for _ in range(params.queries)]
    rows: list[dict[str, Any]] = []
    async with orm(folder, url):
        scope = Scope(region="*")  # a nationwide admin sees every owner: the most rows
        reads = [(a, o) for a, o, _ in filled["sample"][: params.queries // 2]]
        reads += [(uuid.UUID(str(a)), 0) for a in filled["duplicated"][: params.queries // 2]]

        async def lookup(attachment: uuid.UUID, owner: int) -> None:
            matches, _ = await lookalikes.matches_of(attachment, owner, KEPT)
            await lookalikes.lookalikes_in_scope(matches, scope)

        found = [(await lookalikes.matches_of(a, o, KEPT))[1] for a, o in reads]
        p50, p99 = await timed(params.rounds, [lambda a=a, o=o: lookup(a, o) for a, o in reads])
        rows.append({
            "operation": "lookup: `lookalikes` + `lookalikeCount` of one picture (pairs, exact-match probe, owners)",
            "p50": p50, "p99": p99, "detail": f"{sum(1 for n in found if n)} of {len(reads)} pictures have look-alikes",
        })
        p50, p99 = await timed(
            params.rounds, [lambda q=q: lookalikes.nearby(q, 6, 0, KEPT) for q in fresh]
        )
        rows.append({
            "operation": "search at upload (`nearby`): 3 dealt blocks of 22/21/21 bits, probed within 2 bits (718 probes)",
            "p50": p50, "p99": p99, "detail": "chosen",
        })
    conn = await asyncpg.connect(url)
    plan: list[str] = []
    try:
        schemes = [
            ("4 contiguous 16-bit blocks, probed within 1 bit (68 probes)", ["q0", "q1", "q2", "q3"],
             lambda q: [lookalikes.probes(v, 16, 1) for v in split16(q)]),
            ("2 halves of 32 bits, probed within 3 bits (10,978 probes)", ["h0", "h1"],
             lambda q: [[_signed32(v) for v in lookalikes.probes(h & 0xFFFFFFFF, 32, 3)]
                        for h in (q >> 32, q & 0xFFFFFFFF)]),
            ("3 dealt blocks, probed within 2 bits (the chosen scheme, by asyncpg)", ["block0", "block1", "block2"],
             lambda q: probe_sets(q, 6)),
        ]
        for name, columns, probes_of in schemes:
            statement = await conn.prepare(_union(columns))
            p50, p99 = await timed(
                params.rounds,
                [
                    lambda q=q, st=statement, of=probes_of: st.fetchval(signed(q), *of(q))
                    for q in fresh[: params.queries // 2]
                ],
            )
            rows.append({"operation": f"alternative search: {name}", "p50": p50, "p99": p99, "detail": "SQL only"})
        query = fresh[0]
        explained = await conn.prepare("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + _union(["block0", "block1", "block2"]))
        plan = [
            re.sub(r"'\{([^}]*)\}'", lambda m: f"'{{… {m.group(1).count(',') + 1} values}}'", r[0])
            for r in await explained.fetch(signed(query), *probe_sets(query, 6))
        ]
    finally:
        await conn.close()
    return rows, plan


async def run(params: LookalikeParams, pg_reason: str | None) -> dict[str, Any]:
    if pg_reason is not None:
        return {"skipped": [f"look-alikes at national scale: skipped: {pg_reason}"], "rows": []}
    folder = Path(tempfile.mkdtemp(prefix="bench-lookalikes-"))
    try:
        started = time.perf_counter()
        pool = await asyncio.to_thread(hash_pool, params.pool_per_kind)
        log(f"lookalikes: {sum(map(len, pool.values()))} real hashes in {time.perf_counter() - started:.0f} s")
        async with pg_database() as url:
            await asyncio.to_thread(
                subprocess.run, [EXAM_REVIEW, "migrate"], env=service_env(folder, database_url=url),
                check=True, capture_output=True, cwd=folder,
            )
            filled = await fill(url, params, pool)
            log(f"lookalikes: filled in {filled['seconds']:.0f} s ({filled['size']})")
            rows, plan = await measure_all(folder, url, params, pool, filled)
            for row in rows:
                log(f"lookalikes: {row['operation']}: p50 {row['p50'].show()} ms, p99 {row['p99'].show()} ms")
        return {
            "params": params.__dict__, "fill_seconds": filled["seconds"], "size": filled["size"],
            "pairs": filled["pairs"], "rows": rows, "plan": plan, "skipped": [],
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def as_json(part: dict[str, Any]) -> dict[str, Any]:
    rows = [{k: (v.as_dict() if isinstance(v, Figure) else v) for k, v in r.items()}
            for r in part.get("rows", [])]
    return {**part, "rows": rows}


def table(part: dict[str, Any]) -> list[str]:
    if not part.get("rows"):
        return [f"**Look-alikes at national scale** — {s}" for s in part["skipped"]]
    p = part["params"]
    lines = [
        f"**Look-alikes at national scale** — PostgreSQL, {p['pictures']:,} fingerprints of "
        f"{p['pictures'] // p['per_candidate']:,} candidates COPYed in {part['fill_seconds']:.0f} s "
        f"({part['size']} with indexes), hashes from {p['pool_per_kind']} generated photos per kind "
        f"of document ({', '.join(KINDS)}), rows mixed from them; {part['pairs']:,} look-alike pair rows. "
        f"{p['rounds']} rounds × {p['queries']} sequential calls; ms, median of per-round "
        "p50/p99 (min–max).",
        "",
        "| operation | p50 | p99 | |",
        "|---|---|---|---|",
    ]
    for row in part["rows"]:
        lines.append(f"| {row['operation']} | {row['p50'].show()} | {row['p99'].show()} | {row['detail']} |")
    lines += ["", "Plan of the search at upload (EXPLAIN ANALYZE):", "", "```", *part["plan"], "```"]
    return lines


if __name__ == "__main__":
    import sys

    from bench.common import pg_available

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    out = asyncio.run(run(LookalikeParams(pictures=size, queries=100, rounds=2), pg_available()))
    print("\n".join(table(out)))

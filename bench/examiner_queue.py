"""Part 3: the examiners' queue at national scale on PostgreSQL.

1,000,000 candidates go in by COPY (asyncpg `copy_records_to_table`), spread over 32 regions
and 300 sites with a realistic status mix. Then, through the running service over HTTP:
`reviewQueue(first: 20)` for one site, page 500 of the national queue through a cursor, and
`candidateByAdmissionNo`. The baseline for each is the same SQL sent straight to PostgreSQL
by asyncpg, in the same run. The plans come from EXPLAIN of the SQL Tortoise generates.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import random
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

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
    seed_staff,
    service_env,
    spawn_service,
)
from tests.helpers.processes import ServerProcess

REGIONS = [f"考区{i:02d}" for i in range(1, 33)]
SITES = [f"考点{i:03d}" for i in range(1, 301)]
# DRAFT, SUBMITTED, RETURNED, APPROVED, REJECTED on a peak week.
STATUS_MIX = (("DRAFT", 0.22), ("SUBMITTED", 0.28), ("RETURNED", 0.08), ("APPROVED", 0.38),
              ("REJECTED", 0.04))
QUEUE = (
    "query($first: Int, $after: String) { reviewQueue(first: $first, after: $after) {"
    " totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id name status submittedAt site } } } }"
)
STATS = (
    "query($region: String, $site: String) { reviewStats(region: $region, site: $site) {"
    " counts { status count } oldestWaitingSubmittedAt overdueReturns medianFirstReviewSeconds reviewedCount } }"
)
BY_NO = "query($no: String!) { candidateByAdmissionNo(admissionNo: $no) { id name status site } }"
COLUMNS = (
    "username", "password_hash", "name", "admission_no", "exam_category_code",
    "exam_category_name", "region", "site", "stage", "registered_at", "activated_at", "phone",
    "address", "status", "submitted_at", "returned_at", "reply_deadline", "queue_at", "updated_at",
    "first_submitted_at", "first_review_seconds",
)
DECIDED = ("RETURNED", "APPROVED", "REJECTED")
# What reviewStats reads (resolvers/queue.py), as SQL for the baseline: $1 region, $2 site.
STATS_SQL = {
    "site": (
        "region = $1 AND site = $2",
        "SELECT status, sum(n), sum(reviewed) FROM queue_count WHERE region = $1 AND site = $2 GROUP BY status",
    ),
    "region": (
        "region = $1",
        "SELECT status, sum(n), sum(reviewed) FROM queue_count WHERE region = $1 GROUP BY status",
    ),
    "nation": ("TRUE", "SELECT status, sum(n), sum(reviewed) FROM queue_count GROUP BY status"),
}


@dataclass(frozen=True)
class QueueParams:
    candidates: int = 1_000_000
    rounds: int = 3
    requests_per_round: int = 40
    page: int = 500
    chunk: int = 50_000


def site_region(site_index: int) -> str:
    return REGIONS[site_index % len(REGIONS)]


def records(start: int, count: int, hashed: str, rng: random.Random) -> list[tuple[Any, ...]]:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    statuses = [s for s, _ in STATUS_MIX]
    weights = [w for _, w in STATUS_MIX]
    picked = rng.choices(statuses, weights, k=count)
    out = []
    for offset in range(count):
        i = start + offset
        site_index = rng.randrange(len(SITES))
        registered = base + timedelta(seconds=rng.randrange(30 * 86400))
        status = picked[offset]
        submitted = registered + timedelta(seconds=rng.randrange(3 * 86400)) if status != "DRAFT" else None
        returned = submitted + timedelta(hours=rng.randrange(1, 48)) if status == "RETURNED" and submitted else None
        # The first decision (a return, or the decision itself), seconds after the submission.
        first_review = float(rng.randrange(600, 48 * 3600)) if status in DECIDED else None
        if returned is not None and submitted is not None:
            first_review = (returned - submitted).total_seconds()
        out.append((
            f"n{i:07d}", hashed, f"考生{i}", f"N{i:09d}", "110", "临床执业医师",
            site_region(site_index), SITES[site_index], "报名", registered, registered,
            f"138{i % 100000000:08d}", "某省某市某路 1 号", status, submitted, returned,
            returned + timedelta(hours=24) if returned else None, submitted or registered,
            submitted or registered, submitted, first_review,
        ))
    return out


async def fill(url: str, params: QueueParams) -> float:
    started = time.perf_counter()
    hashed = password_hash()
    rng = random.Random(2026)
    conn = await asyncpg.connect(url)
    try:
        # The counting triggers (migration 0007) are off while COPY loads, and the counts are
        # then made in one GROUP BY, as the migration's backfill does.
        await conn.execute("ALTER TABLE candidate DISABLE TRIGGER USER")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        async with indexes_after(conn, "candidate"):
            await copy_pipelined(conn, "candidate", COLUMNS, (
                functools.partial(records, start, min(params.chunk, params.candidates - start), hashed, rng)
                for start in range(0, params.candidates, params.chunk)
            ))
        async with conn.transaction():
            await conn.execute("LOCK TABLE candidate IN SHARE ROW EXCLUSIVE MODE")
            await conn.execute("ALTER TABLE candidate ENABLE TRIGGER USER")
            await recount(conn)
        # As autovacuum leaves a table loaded long ago: statistics, and a visibility map that
        # lets counts use index-only scans.
        await conn.execute("VACUUM (ANALYZE) candidate")
        await conn.execute("VACUUM (ANALYZE) queue_count")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def recount(conn: asyncpg.Connection) -> None:
    """The queue counts made again from the candidates, as migration 0007's backfill does."""
    await conn.execute("DELETE FROM queue_count")
    await conn.execute(
        "INSERT INTO queue_count (region, site, status, n, reviewed) SELECT region, site,"
        " status, count(*), count(first_review_seconds) FROM candidate GROUP BY 1, 2, 3"
    )


def cursor_for(queue_at: datetime, pk: int) -> str:
    raw = f"{queue_at.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def tortoise_sql(folder: Path, url: str, site: str, region: str, moment: datetime,
                       pk: int, admission_no: str, page: int) -> dict[str, list[str]]:
    """The SQL Tortoise sends for each measured query, with parameters inlined."""
    from tortoise.expressions import Q
    from tortoise.functions import Sum

    from models import Candidate, QueueCount
    from models.enums import ReviewStatus
    async with orm(folder, url):
        site_q = Candidate.filter(Q(region=region) & Q(site=site), status__in=[ReviewStatus.SUBMITTED])
        national = Candidate.filter(Q(), status__in=[ReviewStatus.SUBMITTED])
        # totalCount: the triggers' counts (resolvers/queue.py _counted), not a COUNT.
        site_n = QueueCount.filter(Q(region=region) & Q(site=site), status__in=[ReviewStatus.SUBMITTED])
        national_n = QueueCount.filter(Q(), status__in=[ReviewStatus.SUBMITTED])
        return {
            "site queue, first 20": [
                site_n.annotate(total=Sum("n")).first().values("total").sql(params_inline=True),
                site_q.order_by("queue_at", "id").limit(21).sql(params_inline=True),
            ],
            f"national queue, page {page}": [
                national_n.annotate(total=Sum("n")).first().values("total").sql(params_inline=True),
                national.filter(Q(queue_at__gte=moment), Q(queue_at__gt=moment) | Q(queue_at=moment, id__gt=pk))
                .order_by("queue_at", "id").limit(21).sql(params_inline=True),
            ],
            "candidateByAdmissionNo": [
                Candidate.filter(Q(region=region) & Q(site=site), admission_no=admission_no)
                .limit(1).sql(params_inline=True),
            ],
        }


async def explain(url: str, queries: dict[str, list[str]]) -> dict[str, Any]:
    conn = await asyncpg.connect(url)
    plans: dict[str, Any] = {}
    try:
        for name, sqls in queries.items():
            lines: list[str] = []
            for sql in sqls:
                rows = await conn.fetch("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) " + sql)
                lines.extend(r[0] for r in rows)
            plans[name] = {
                "sql": sqls,
                "plan": lines,
                # Only a scan of the million candidates matters: queue_count holds one row per
                # (region, site, status), which PostgreSQL rightly reads whole for a national sum.
                "seq_scan": any("Seq Scan on candidate " in line for line in lines),
            }
    finally:
        await conn.close()
    return plans


async def timed_rounds(params: QueueParams, call: Any) -> tuple[Figure, Figure]:
    p50, p99 = Figure(), Figure()
    for _ in range(params.rounds):
        samples = []
        for k in range(params.requests_per_round):
            started = time.perf_counter()
            await call(k)
            samples.append((time.perf_counter() - started) * 1000)
        p50.add(percentile(samples, 50))
        p99.add(percentile(samples, 99))
    return p50, p99


async def run(params: QueueParams, pg_reason: str | None) -> dict[str, Any]:
    if pg_reason is not None:
        return {"skipped": [f"queue at national scale: skipped: {pg_reason}"], "rows": []}
    folder = Path(tempfile.mkdtemp(prefix="bench-queue-"))
    server: ServerProcess | None = None
    try:
        async with pg_database() as url:
            await asyncio.to_thread(
                subprocess.run, [EXAM_REVIEW, "migrate"], env=service_env(folder, database_url=url),
                check=True, capture_output=True, cwd=folder,
            )
            log(f"queue: COPY {params.candidates:,} candidates")
            fill_seconds = await fill(url, params)
            log(f"queue: filled in {fill_seconds:.1f} s")
            site_index = 7
            site, region = SITES[site_index], site_region(site_index)
            examiner = await seed_staff(folder, database_url=url, region=region, site=site)
            admin = await seed_staff(folder, database_url=url, role="ADMIN", region="*")
            regional = await seed_staff(folder, database_url=url, role="ADMIN", region=region)
            conn = await asyncpg.connect(url)
            try:
                mix = dict(await conn.fetch("SELECT status, count(*) FROM candidate GROUP BY status"))
                target = await conn.fetchrow(
                    "SELECT queue_at, id FROM candidate WHERE status = 'SUBMITTED' "
                    "ORDER BY queue_at, id OFFSET $1 LIMIT 1", (params.page - 1) * 20 - 1,
                )
                numbers = [r[0] for r in await conn.fetch(
                    "SELECT admission_no FROM candidate WHERE site = $1 AND region = $2 LIMIT 200",
                    site, region,
                )]
            finally:
                await conn.close()
            cursor = cursor_for(target["queue_at"], target["id"])
            queries = await tortoise_sql(folder, url, site, region, target["queue_at"],
                                         target["id"], numbers[0], params.page)
            plans = await explain(url, queries)

            server = spawn_service(folder, 1, database_url=url)
            await server.wait_ready()
            rows = []
            pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
            try:
                async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                    async def gql(token: str, query: str, variables: dict[str, Any]) -> Any:
                        response = await http.post(
                            "/graphql", json={"query": query, "variables": variables},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        body = response.json()
                        if body.get("errors"):
                            raise RuntimeError(body["errors"])
                        return body["data"]

                    first = await gql(examiner.token, QUEUE, {"first": 20})
                    page = await gql(admin.token, QUEUE, {"first": 20, "after": cursor})
                    checks = {
                        "site_total": first["reviewQueue"]["totalCount"],
                        "site_edges": len(first["reviewQueue"]["edges"]),
                        "national_total": page["reviewQueue"]["totalCount"],
                        "page_edges": len(page["reviewQueue"]["edges"]),
                    }

                    async def sql(name: str, k: int) -> None:
                        async with pool.acquire() as conn:
                            for statement in queries[name]:
                                if name == "candidateByAdmissionNo":
                                    statement = statement.replace(numbers[0], numbers[k % len(numbers)])
                                await conn.fetch(statement)

                    async def stats_sql(scope: str) -> None:
                        where, counts_sql = STATS_SQL[scope]
                        args = [region, site][: counts_sql.count("$")]
                        async with pool.acquire() as conn:
                            rows = await conn.fetch(counts_sql, *args)
                            reviewed = sum(r[2] for r in rows)
                            await conn.fetch(
                                f"SELECT queue_at FROM candidate WHERE {where} AND status = 'SUBMITTED'"
                                " ORDER BY queue_at, id LIMIT 1", *args)
                            await conn.fetchval(
                                f"SELECT count(*) FROM candidate WHERE {where} AND status = 'RETURNED'"
                                " AND reply_deadline < now()", *args)
                            if reviewed:
                                await conn.fetch(
                                    f"SELECT first_review_seconds FROM candidate WHERE {where} AND"
                                    " first_review_seconds IS NOT NULL ORDER BY first_review_seconds"
                                    f" OFFSET {(reviewed - 1) // 2} LIMIT {1 if reviewed % 2 else 2}",
                                    *args)

                    stats_calls = {
                        "site": lambda k: gql(examiner.token, STATS, {}),
                        "region": lambda k: gql(regional.token, STATS, {}),
                        "nation": lambda k: gql(admin.token, STATS, {}),
                    }
                    for scope, call in stats_calls.items():
                        stats = (await call(0))["reviewStats"]
                        checks[f"stats_{scope}_reviewed"] = stats["reviewedCount"]
                        checks[f"stats_{scope}_median"] = stats["medianFirstReviewSeconds"]
                    cases = [
                        ("site queue, first 20", lambda k: gql(examiner.token, QUEUE, {"first": 20})),
                        (f"national queue, page {params.page}",
                         lambda k: gql(admin.token, QUEUE, {"first": 20, "after": cursor})),
                        ("candidateByAdmissionNo",
                         lambda k: gql(examiner.token, BY_NO, {"no": numbers[k % len(numbers)]})),
                    ]
                    cases += [(f"reviewStats, {scope}", call) for scope, call in stats_calls.items()]
                    for name, call in cases:
                        svc_p50, svc_p99 = await timed_rounds(params, call)
                        if name.startswith("reviewStats, "):
                            scope = name.removeprefix("reviewStats, ")
                            base_p50, base_p99 = await timed_rounds(
                                params, lambda k, scope=scope: stats_sql(scope)
                            )
                        else:
                            base_p50, base_p99 = await timed_rounds(
                                params, lambda k, name=name: sql(name, k)
                            )
                        rows.append({
                            "query": name, "service_p50": svc_p50, "service_p99": svc_p99,
                            "sql_p50": base_p50, "sql_p99": base_p99,
                        })
                        log(f"queue: {name}: service p50 {svc_p50.show()} ms, SQL {base_p50.show()} ms")
            finally:
                await pool.close()
            return {
                "params": params.__dict__, "fill_seconds": fill_seconds,
                "status_mix": mix, "site": f"{region} / {site}", "checks": checks,
                "plans": plans, "rows": rows, "skipped": [],
            }
    finally:
        if server is not None:
            await server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def as_json(part: dict[str, Any]) -> dict[str, Any]:
    rows = [{k: (v.as_dict() if isinstance(v, Figure) else v) for k, v in r.items()}
            for r in part.get("rows", [])]
    return {**part, "rows": rows}


def table(part: dict[str, Any]) -> list[str]:
    if not part.get("rows"):
        return [f"**Examiner queue at national scale** — {s}" for s in part["skipped"]]
    p = part["params"]
    mix = ", ".join(f"{k} {v:,}" for k, v in sorted(part["status_mix"].items()))
    checks = part["checks"]
    lines = [
        f"**Examiner queue at national scale** — PostgreSQL, {p['candidates']:,} candidates "
        f"COPYed in {part['fill_seconds']:.0f} s (incl. VACUUM ANALYZE), 32 regions × 300 sites ({mix}); "
        f"site {part['site']} has {checks['site_total']:,} waiting, the nation "
        f"{checks['national_total']:,}. {p['rounds']} rounds × {p['requests_per_round']} "
        "sequential requests; ms, median of per-round p50/p99 (min–max); "
        "baseline = the same SQL sent by asyncpg.",
        "",
        "| query | service p50 | service p99 | SQL p50 | SQL p99 | ratio p50 | plan |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in part["rows"]:
        svc, base = row["service_p50"], row["sql_p50"]
        r = Figure([s / b for s, b in zip(svc.samples, base.samples, strict=False) if b])
        plan = part["plans"].get(row["query"], {})
        uses = "–" if not plan else "**seq scan**" if plan.get("seq_scan") else "index"
        lines.append(
            f"| {row['query']} | {svc.show()} | {row['service_p99'].show()} | {base.show()} "
            f"| {row['sql_p99'].show()} | {r.show('{:.1f}')} | {uses} |"
        )
    lines.append("")
    lines.append("Plans (EXPLAIN ANALYZE of the SQL Tortoise generates):")
    lines.append("")
    lines.append("```")
    for name, plan in part["plans"].items():
        lines.append(f"-- {name}")
        lines.extend(plan["plan"])
    lines.append("```")
    return lines


if __name__ == "__main__":
    import sys

    from bench.common import pg_available

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    out = asyncio.run(run(QueueParams(candidates=size, rounds=2, requests_per_round=10,
                                      page=min(500, size // 200)), pg_available()))
    print("\n".join(table(out)))

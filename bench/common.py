"""What every part of the suite shares: processes, memory, figures, pictures and seeding.

Everything runs on this machine over loopback; every loop is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import random
import resource
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers.pictures import photo  # noqa: E402
from tests.helpers.processes import EXAM_REVIEW, ServerProcess  # noqa: E402

BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-" + secrets.token_hex(16)
PASSWORD = "bench-pass-2026"


def raise_fd_limit(want: int = 20000) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# Figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Figure:
    """One measured quantity over repeated runs: median with min–max."""

    samples: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.samples.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else float("nan")

    def as_dict(self) -> dict[str, Any]:
        if not self.samples:
            return {"median": None, "min": None, "max": None, "samples": []}
        return {
            "median": self.median,
            "min": min(self.samples),
            "max": max(self.samples),
            "samples": self.samples,
        }

    def show(self, fmt: str = "{:.1f}", unit: str = "") -> str:
        if not self.samples:
            return "–"
        med = fmt.format(self.median)
        if len(self.samples) == 1:
            return f"{med}{unit}"
        return f"{med}{unit} ({fmt.format(min(self.samples))}–{fmt.format(max(self.samples))})"


def ratio(service: Figure, baseline: Figure) -> Figure:
    """Per-repeat ratios (each repeat's service over its own baseline)."""
    out = Figure()
    for s, b in zip(service.samples, baseline.samples, strict=False):
        if b:
            out.add(s / b)
    return out


# Processes ---------------------------------------------------------------------------------
# Started and awaited by the tests' own routine (tests/helpers/processes.py): `.start()`
# spawns, `await .wait_ready()` answers the seconds to the first 200, `.rss()` the memory of
# the server and its workers, `await .stop()` SIGTERM (SIGKILL for the whole group if need be).


def service_env(var_dir: Path, database_url: str | None = None, broker_url: str | None = None) -> dict[str, str]:
    env = {**os.environ, "VAR_DIR": str(var_dir), "SECRET_KEY": SECRET, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("BROKER_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    if broker_url:
        env["BROKER_URL"] = broker_url
    return env


def spawn_service(var_dir: Path, workers: int = 1, **env_args: Any) -> ServerProcess:
    """`exam-review serve`, started (not yet ready)."""
    env = service_env(var_dir, **env_args)
    return ServerProcess.serve(env, var_dir, "--workers", str(workers), name="service").start()


def spawn_baseline(var_dir: Path, workers: int = 1, broker_url: str | None = None) -> ServerProcess:
    """uvicorn serving the bare Starlette baseline, started (not yet ready)."""
    env = {**os.environ, "BENCH_STORE": str(var_dir / "baseline-files"), "PYTHONPATH": str(ROOT)}
    if broker_url:
        env["BENCH_BROKER_URL"] = broker_url
    command = [
        str(BIN / "uvicorn"), "bench.baseline_app:app", "--workers", str(workers),
        "--log-level", "warning", "--ws", "websockets-sansio",
    ]
    return ServerProcess(command, env, var_dir, name="baseline").start()


# Pictures ----------------------------------------------------------------------------------


def realistic_jpegs(count: int) -> list[bytes]:
    """Distinct photo-like JPEGs of about 1600×1200 and 150–200 KB."""
    out = []
    for seed in range(count):
        for quality in (80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30):
            data = photo(1600, 1200, quality=quality, seed=1000 + seed)
            if len(data) <= 200 * 1024:
                break
        if not 150 * 1024 <= len(data) <= 200 * 1024:
            data = _tune(seed)
        out.append(data)
    return out


def distinct_jpegs(count: int) -> list[bytes]:
    """`count` upload-ready JPEGs (1440×1080, ≤ 200 KB) whose fingerprints are all far apart.

    Real candidates' pictures almost never look alike. Reusing a handful of pictures across
    thousands of uploads would make every upload find hundreds of "look-alikes", a load no
    real day has. Each base photo gives 36 pictures (4 flips × 9 crops); every pair of them is
    more than 12 bits apart by the service's own fingerprint (checked when this was written).
    """
    from PIL import Image

    flips = (None, Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM,
             Image.Transpose.ROTATE_180)
    offsets = [(x, y) for x in (0, 80, 160) for y in (0, 60, 120)]
    out: list[bytes] = []
    for base in realistic_jpegs(-(-count // (len(flips) * len(offsets)))):
        image = Image.open(io.BytesIO(base))
        image.load()
        for flip in flips:
            turned = image if flip is None else image.transpose(flip)
            for x, y in offsets:
                crop = turned.crop((x, y, x + 1440, y + 1080))
                for quality in (80, 75, 70, 65, 60):
                    buffer = io.BytesIO()
                    crop.save(buffer, "JPEG", quality=quality)
                    if buffer.tell() <= 200 * 1024:
                        break
                out.append(buffer.getvalue())
    return out[:count]


def _tune(seed: int) -> bytes:
    from PIL import Image

    base = Image.open(io.BytesIO(photo(1600, 1200, quality=95, seed=1000 + seed)))
    rng = random.Random(seed)
    noise = Image.effect_noise((1600, 1200), 24).convert("RGB")
    mixed = Image.blend(base.convert("RGB"), noise, 0.15 + rng.random() * 0.05)
    best = b""
    for quality in range(90, 20, -5):
        out = io.BytesIO()
        mixed.save(out, "JPEG", quality=quality)
        best = out.getvalue()
        if len(best) <= 200 * 1024:
            break
    return best


# Databases ---------------------------------------------------------------------------------


def pg_available() -> str | None:
    """None when PostgreSQL can be used, else why not."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "asyncpg is not installed"

    async def probe() -> None:
        import asyncpg

        conn = await asyncpg.connect(PG_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:  # any failure to reach the server is a reason to skip
        return f"PostgreSQL not reachable at {PG_ADMIN_URL} ({type(exc).__name__})"
    return None


def redis_available() -> str | None:
    try:
        import pubsub.redis  # noqa: F401
    except ImportError as exc:
        return f"no Redis broker in the service yet (import pubsub.redis: {exc})"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL} ({type(exc).__name__})"
    return None


def redis_broker_url() -> str:
    """A broker URL with a prefix of its own, so runs never see each other's events."""
    from core.settings import Settings

    prefix = f"bench-{secrets.token_hex(4)}"
    fields_ = Settings.__dataclass_fields__
    url = REDIS_URL
    if "broker_prefix" in fields_:
        os.environ["BROKER_PREFIX"] = prefix
        return url
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}prefix={prefix}"


@contextlib.asynccontextmanager
async def pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one part of the run, dropped afterwards."""
    import asyncpg

    name = f"bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def settings_for(var_dir: Path, database_url: str | None = None) -> Any:
    from core.settings import Settings

    env = service_env(var_dir, database_url=database_url)
    return Settings.from_env(env)


@contextlib.asynccontextmanager
async def orm(var_dir: Path, database_url: str | None = None) -> AsyncIterator[None]:
    """Tortoise on one database, in this process, which also opens others.

    Tortoise caches each model's INSERT/DELETE SQL by connection *name* ("default"), so after
    SQLite the same process would send SQLite's SQL to PostgreSQL: clear it on both sides.
    """
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    from server.database import database

    EXECUTOR_CACHE.clear()
    try:
        async with database(settings_for(var_dir, database_url)):
            yield
    finally:
        EXECUTOR_CACHE.clear()


def migrate_and_demo(var_dir: Path, database_url: str | None = None) -> None:
    """Apply migrations and load the demo (its categories are what candidates upload into)."""
    subprocess.run(
        [EXAM_REVIEW, "demo"], env=service_env(var_dir, database_url=database_url),
        check=True, capture_output=True, cwd=var_dir,
    )


_HASH: str | None = None


def password_hash() -> str:
    global _HASH
    if _HASH is None:
        from core.security import hash_password

        _HASH = hash_password(PASSWORD)
    return _HASH


@dataclass(frozen=True)
class Account:
    id: int
    token: str


async def seed_candidates(
    var_dir: Path,
    count: int,
    *,
    database_url: str | None = None,
    status: str = "DRAFT",
    region: str = "压测省",
    site: str = "压测一考点",
) -> list[Account]:
    """Bulk-insert candidates with a precomputed password hash, each with one signed-in session.

    A session row plus a token signed with the server's key is exactly what login creates;
    doing it in bulk skips thousands of deliberately slow argon2 checks.
    """
    from core.security import new_session_id, sign_token
    from models import Candidate, Session
    from models.enums import ReviewStatus, Role

    tag = secrets.token_hex(3)
    now = datetime.now(UTC)
    expires = int((now + timedelta(hours=6)).timestamp())
    hashed = password_hash()
    if database_url and database_url.startswith("postgres"):
        return await _copy_candidates(database_url, tag, count, status, region, site, now, expires)
    async with orm(var_dir, database_url):
        rows = [
            Candidate(
                username=f"b{tag}_{i}", password_hash=hashed, name=f"压测考生{i}",
                admission_no=f"B{tag}{i:07d}", exam_category_code="110",
                exam_category_name="临床执业医师", region=region, site=site, stage="报名",
                registered_at=now, activated_at=now, phone="13800000000", address="压测路 1 号",
                status=ReviewStatus(status), submitted_at=now if status != "DRAFT" else None,
                queue_at=now,
            )
            for i in range(count)
        ]
        await Candidate.bulk_create(rows, batch_size=500)
        ids = dict(
            await Candidate.filter(username__startswith=f"b{tag}_").values_list("username", "id")
        )
        sessions = []
        accounts = []
        for i in range(count):
            sid = new_session_id()
            cid = ids[f"b{tag}_{i}"]
            sessions.append(
                Session(id=sid, role=Role.CANDIDATE, candidate_id=cid,
                        expires_at=datetime.fromtimestamp(expires, UTC))
            )
            accounts.append(Account(cid, sign_token(SECRET, sid, expires)))
        await Session.bulk_create(sessions, batch_size=500)
    return accounts


async def _copy_candidates(
    url: str, tag: str, count: int, status: str, region: str, site: str, now: datetime,
    expires: int,
) -> list[Account]:
    """PostgreSQL: the same rows by COPY (Tortoise 1.1.9's bulk_create emits bad SQL there)."""
    import asyncpg

    from core.security import new_session_id, sign_token

    columns = (
        "username", "password_hash", "name", "admission_no", "exam_category_code",
        "exam_category_name", "region", "site", "stage", "registered_at", "activated_at",
        "phone", "address", "status", "submitted_at", "queue_at", "updated_at",
    )
    rows = [
        (f"b{tag}_{i}", password_hash(), f"压测考生{i}", f"B{tag}{i:07d}", "110", "临床执业医师",
         region, site, "报名", now, now, "13800000000", "压测路 1 号", status,
         now if status != "DRAFT" else None, now, now)
        for i in range(count)
    ]
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("candidate", records=rows, columns=columns)
        ids = dict(await conn.fetch(
            "SELECT username, id FROM candidate WHERE username LIKE $1", f"b{tag}_%"
        ))
        until = datetime.fromtimestamp(expires, UTC)
        sessions, accounts = [], []
        for i in range(count):
            sid, cid = new_session_id(), ids[f"b{tag}_{i}"]
            sessions.append((sid, "CANDIDATE", cid, now, until))
            accounts.append(Account(cid, sign_token(SECRET, sid, expires)))
        await conn.copy_records_to_table(
            "session", records=sessions,
            columns=("id", "role", "candidate_id", "created_at", "expires_at"),
        )
    finally:
        await conn.close()
    return accounts


async def seed_staff(
    var_dir: Path, *, database_url: str | None = None, role: str = "EXAMINER",
    region: str = "压测省", site: str | None = None,
) -> Account:
    from core.security import new_session_id, sign_token
    from models import Session, StaffUser
    from models.enums import Role

    expires = int(time.time()) + 6 * 3600
    async with orm(var_dir, database_url):
        staff = await StaffUser.create(
            username=f"bench_staff_{secrets.token_hex(4)}", password_hash=password_hash(),
            name="压测审核员", role=Role(role), region=region, site=site,
        )
        sid = new_session_id()
        await Session.create(
            id=sid, role=Role(role), staff=staff, expires_at=datetime.fromtimestamp(expires, UTC)
        )
    return Account(staff.id, sign_token(SECRET, sid, expires))


async def category_ids(var_dir: Path, database_url: str | None = None) -> dict[str, int]:
    from models import MaterialCategory

    async with orm(var_dir, database_url):
        return dict(await MaterialCategory.all().values_list("code", "id"))


@contextlib.asynccontextmanager
async def indexes_after(conn: Any, table: str) -> AsyncIterator[None]:
    """Drop a table's indexes (all but the primary key) for a bulk load and make them again
    after, as `pg_restore` does: sorting once is far cheaper than millions of inserts into
    each B-tree. Unique constraints come back as the same constraints."""
    found = await conn.fetch(
        "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition,"
        " c.conname, pg_get_constraintdef(c.oid) AS constraint_definition"
        " FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid"
        " AND c.conrelid = i.indrelid AND c.contype = 'u'"
        " WHERE i.indrelid = $1::regclass AND NOT i.indisprimary", table,
    )
    for row in found:
        if row["conname"]:
            await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{row["conname"]}"')
        else:
            await conn.execute(f"DROP INDEX {row['name']}")
    yield
    for row in found:
        if row["conname"]:
            await conn.execute(
                f'ALTER TABLE {table} ADD CONSTRAINT "{row["conname"]}" {row["constraint_definition"]}'
            )
        else:
            await conn.execute(row["definition"])


async def copy_pipelined(
    conn: Any, table: str, columns: Sequence[str], makers: Iterable[Callable[[], list[tuple[Any, ...]]]],
    on_chunk: Callable[[int], None] | None = None,
) -> int:
    """COPY chunks of rows while the next chunk is made in a thread.

    Making rows is Python (it holds the GIL); COPY mostly waits while PostgreSQL, another
    process, parses and stores them. Overlapping the two takes about a third off a large fill.
    `makers` run one at a time and in order, so a seeded generator stays reproducible.
    """
    loop = asyncio.get_running_loop()
    pending = iter(makers)
    first = next(pending, None)
    next_rows = loop.run_in_executor(None, first) if first is not None else None
    total = 0
    while next_rows is not None:
        rows = await next_rows
        maker = next(pending, None)
        next_rows = loop.run_in_executor(None, maker) if maker is not None else None
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        total += len(rows)
        if on_chunk is not None:
            on_chunk(total)
    return total


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

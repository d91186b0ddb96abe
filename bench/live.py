"""Part 2: live feedback. N candidates hold `reviewEvents`; an examiner returns some at a steady rate.

One asyncio process (uvloop, the `websockets` client) holds every socket. Latency is the time
from the moment the examiner's `returnForCorrection` response arrives to the moment the
candidate's socket receives the event (both clocks are this process's monotonic clock); the
event is published before the response is written, so small negative values are possible.
The baseline is bare Starlette WebSockets pushing the same frame on a bare POST.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.common import (
    BIN,
    Figure,
    log,
    migrate_and_demo,
    percentile,
    pg_database,
    raise_fd_limit,
    ratio,
    redis_broker_url,
    seed_candidates,
    seed_staff,
    service_env,
    spawn_baseline,
)
from tests.helpers.client import GRAPHQL_TRANSPORT_WS
from tests.helpers.processes import ServerProcess

REVIEW_EVENTS = "subscription { reviewEvents { status locked message { id kind body authorName createdAt } } }"
FEEDBACK = (
    "mutation($id: ID!, $b: String!) { sendFeedback(candidateId: $id, body: $b)"
    " { message { id } errors { code message } } }"
)
RETURN = (
    "mutation($id: ID!, $m: String!) { returnForCorrection(candidateId: $id, message: $m)"
    " { candidate { id status } errors { code message } } }"
)


def spawn_counted_service(
    var_dir: Path, workers: int, broker_url: str | None, database_url: str | None,
    **extra_env: str,
) -> ServerProcess:
    """The service with the uvicorn options of `exam-review serve`, plus `GET /bench/live`
    (database statements sent, broker subscribers, batched lookups idle): bench/counted_app.py."""
    from core.settings import Settings
    from server.app import uvicorn_options

    env = service_env(var_dir, database_url=database_url, broker_url=broker_url)
    options = uvicorn_options(Settings.from_env(env))
    command = [
        str(BIN / "uvicorn"), "--factory", "bench.counted_app:app", "--workers", str(workers),
        "--log-level", "warning", "--ws", options["ws"], "--ws-max-size", str(options["ws_max_size"]),
        "--timeout-graceful-shutdown", str(options["timeout_graceful_shutdown"]),
        "--proxy-headers", "--no-access-log",
    ]
    # BENCH_SERVICE_SRC: another checkout's code served by this benchmark (before/after).
    env["PYTHONPATH"] = os.environ.get("BENCH_SERVICE_SRC") or str(Path(__file__).resolve().parent.parent)
    env.update(extra_env)
    return ServerProcess(command, env, var_dir, name="service").start()


@dataclass(frozen=True)
class LiveParams:
    sizes: tuple[int, ...] = (1000, 5000)
    rounds: int = 3
    returns_per_round: int = 60
    rate_per_second: float = 20.0
    open_parallel: int = 100
    settle_seconds: float = 2.0
    deliver_timeout: float = 10.0
    storm_timeout: float = 300.0


@dataclass
class Holder:
    """Every open socket, and when each candidate's events arrived."""

    sockets: dict[int, ClientConnection] = field(default_factory=dict)
    received: dict[int, list[tuple[float, dict[str, Any]]]] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def read(self, candidate_id: int, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                now = time.perf_counter()
                message = json.loads(raw)
                kind = message.get("type")
                if kind == "next":
                    self.received.setdefault(candidate_id, []).append((now, message))
                elif kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind in ("error", "complete"):
                    self.errors.append(f"{candidate_id}: {raw[:200]!r}")
        except Exception as exc:  # a dropped socket is reported, not fatal
            self.errors.append(f"{candidate_id}: {type(exc).__name__}")

    async def close(self) -> None:
        async def one(ws: ClientConnection) -> None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)

        sockets = list(self.sockets.values())
        for start in range(0, len(sockets), 500):
            await asyncio.gather(*(one(ws) for ws in sockets[start : start + 500]))
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def open_all(
    ids: list[int], opener: Callable[[int], Awaitable[ClientConnection]], parallel: int, holder: Holder
) -> float:
    """Open every socket with bounded parallelism; returns the seconds it took."""
    gate = asyncio.Semaphore(parallel)
    started = time.perf_counter()

    async def one(candidate_id: int) -> None:
        async with gate:
            for attempt in range(3):
                try:
                    ws = await opener(candidate_id)
                    break
                except Exception as exc:
                    if attempt == 2:
                        holder.errors.append(f"open {candidate_id}: {type(exc).__name__} {exc}")
                        return
                    await asyncio.sleep(0.2)
            holder.sockets[candidate_id] = ws
            holder.tasks.append(asyncio.create_task(holder.read(candidate_id, ws)))

    await asyncio.gather(*(one(i) for i in ids))
    return time.perf_counter() - started


def service_opener(server: ServerProcess, tokens: dict[int, str]) -> Callable[[int], Awaitable[ClientConnection]]:
    url = f"ws://127.0.0.1:{server.port}/graphql"

    async def opener(candidate_id: int) -> ClientConnection:
        ws = await connect(
            url, subprotocols=[GRAPHQL_TRANSPORT_WS], open_timeout=60, ping_interval=None,
            close_timeout=2, compression=None,
        )
        await ws.send(json.dumps({
            "type": "connection_init",
            "payload": {"Authorization": f"Bearer {tokens[candidate_id]}"},
        }))
        ack = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no ack: {ack}")
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": REVIEW_EVENTS}}))
        return ws

    return opener


def baseline_opener(server: ServerProcess) -> Callable[[int], Awaitable[ClientConnection]]:
    async def opener(candidate_id: int) -> ClientConnection:
        return await connect(
            f"ws://127.0.0.1:{server.port}/ws?c={candidate_id}", open_timeout=60,
            ping_interval=None, close_timeout=2, compression=None,
        )

    return opener


async def reconnect_storm(
    params: LiveParams, holder: Holder, ids: list[int],
    opener: Callable[[int], Awaitable[ClientConnection]],
    probe: Callable[[], Awaitable[dict[str, Any]]] | None,
) -> tuple[Holder, dict[str, Any]]:
    """A worker restart as the pages see it: every socket drops, and every page reconnects at
    once. Timed from the drop until every page is open again and (service) every subscription
    is live: the broker holds them all and no batched lookup is waiting. Counts the database
    statements the service sent meanwhile."""
    before = await probe() if probe is not None else {}
    started = time.perf_counter()
    await holder.close()
    again = Holder()
    reopened = await open_all(ids, opener, params.open_parallel, again)
    state = before
    if probe is not None:
        deadline = time.perf_counter() + params.storm_timeout
        while time.perf_counter() < deadline:
            state = await probe()
            if state["subscribers"] >= len(again.sockets) and state["idle"]:
                break
            await asyncio.sleep(0.01)
    seconds = time.perf_counter() - started
    figures: dict[str, Any] = {
        "seconds": seconds, "reopen_seconds": reopened, "reopened": len(again.sockets),
        "errors": len(again.errors),
    }
    if probe is not None:
        figures["statements"] = state["statements"] - before["statements"]
        figures["live"] = state["subscribers"]
    return again, figures


async def rounds(
    params: LiveParams, holder: Holder, ids: list[int],
    send: Callable[[int, int], Awaitable[bool]],
) -> dict[str, Any]:
    """Return candidates at a steady rate; per round p50/p99 of delivery and messages lost."""
    rng = random.Random(42)
    pool = [i for i in ids if i in holder.sockets]
    rng.shuffle(pool)
    p50, p99, p50_send, lost_total, sent_total, refused = Figure(), Figure(), Figure(), 0, 0, 0
    cursor = 0
    for _ in range(params.rounds):
        chosen = pool[cursor : cursor + params.returns_per_round]
        cursor += params.returns_per_round
        sent_at: dict[int, float] = {}
        answered_at: dict[int, float] = {}
        interval = 1 / params.rate_per_second
        start = time.perf_counter()

        async def one(
            k: int, candidate_id: int, at: float, sent_at: dict[int, float],
            answered_at: dict[int, float],
        ) -> bool:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            sent_at[candidate_id] = time.perf_counter()
            if await send(candidate_id, k):
                answered_at[candidate_id] = time.perf_counter()
                return True
            return False

        done = await asyncio.gather(*(
            one(k, c, start + k * interval, sent_at, answered_at) for k, c in enumerate(chosen)
        ))
        refused += done.count(False)
        deadline = time.perf_counter() + params.deliver_timeout
        while time.perf_counter() < deadline:
            if all(holder.received.get(c) for c in answered_at):
                break
            await asyncio.sleep(0.05)
        latencies, from_send = [], []
        for candidate_id, answered in answered_at.items():
            got = holder.received.get(candidate_id)
            if not got:
                lost_total += 1
                continue
            received = got[0][0]
            latencies.append((received - answered) * 1000)
            from_send.append((received - sent_at[candidate_id]) * 1000)
        sent_total += len(answered_at)
        if latencies:
            p50.add(percentile(latencies, 50))
            p99.add(percentile(latencies, 99))
            p50_send.add(percentile(from_send, 50))
    return {"p50": p50, "p99": p99, "p50_from_send": p50_send, "lost": lost_total,
            "sent": sent_total, "refused": refused}


async def measure_service(
    params: LiveParams, size: int, workers: int, broker_url: str | None,
    database_url: str | None = None,
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-live-"))
    server: ServerProcess | None = None
    holder = Holder()
    refusals: list[str] = []
    try:
        migrate_and_demo(folder, database_url)
        accounts = await seed_candidates(
            folder, size, status="SUBMITTED", database_url=database_url
        )
        examiner = await seed_staff(folder, database_url=database_url)
        tokens = {a.id: a.token for a in accounts}
        server = spawn_counted_service(folder, workers, broker_url, database_url)
        await server.wait_ready()
        headers = {"Authorization": f"Bearer {examiner.token}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30,
                                     limits=httpx.Limits(max_connections=32)) as http:
            # Warm every worker up (imports, first queries) before the memory baseline.
            for _ in range(4 * workers):
                await http.post("/graphql", json={"query": "{ __typename }"})
            warm = Holder()
            await open_all([accounts[0].id], service_opener(server, tokens), 1, warm)
            await warm.close()
            await asyncio.sleep(0.5)
            rss_before = server.rss()
            opened = await open_all(list(tokens), service_opener(server, tokens),
                                    params.open_parallel, holder)
            await asyncio.sleep(params.settle_seconds)
            rss_after = server.rss()

            async def send(candidate_id: int, k: int) -> bool:
                response = await http.post("/graphql", json={
                    "query": RETURN, "variables": {"id": str(candidate_id), "m": f"请重拍第 {k} 张"},
                })
                body = response.json()
                payload = (body.get("data") or {}).get("returnForCorrection") or {}
                if payload.get("candidate") and not payload.get("errors"):
                    return True
                refusals.append(str(body)[:300])
                return False

            figures = await rounds(params, holder, list(tokens), send)
            storm: dict[str, Any] = {}
            if workers == 1:  # the statement count is one worker's
                async def probe() -> dict[str, Any]:
                    return (await http.get("/bench/live")).json()

                holder, storm = await reconnect_storm(
                    params, holder, list(tokens), service_opener(server, tokens), probe
                )
                async def feedback(candidate_id: int, k: int) -> bool:
                    # The first rounds returned these candidates: a feedback line reaches them.
                    response = await http.post("/graphql", json={
                        "query": FEEDBACK, "variables": {"id": str(candidate_id), "b": f"重连后 {k}"},
                    })
                    payload = ((response.json().get("data") or {}).get("sendFeedback")) or {}
                    return bool(payload.get("message")) and not payload.get("errors")

                after = await rounds(replace(params, rounds=1), holder, list(tokens), feedback)
                storm["lost_after"], storm["sent_after"] = after["lost"], after["sent"]
        return {
            **figures, "storm": storm, "open": len(holder.sockets), "open_seconds": opened,
            "rss_before": rss_before, "rss_after": rss_after,
            "per_socket_kb": (rss_after - rss_before) / max(len(holder.sockets), 1) / 1024,
            "errors": holder.errors[:5] + refusals[:3], "error_count": len(holder.errors),
        }
    finally:
        await holder.close()
        if server is not None:
            await server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def measure_baseline(
    params: LiveParams, size: int, workers: int, broker_url: str | None
) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-live-base-"))
    server = spawn_baseline(folder, workers, broker_url=broker_url)
    holder = Holder()
    ids = list(range(1, size + 1))
    try:
        await server.wait_ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=30,
                                     limits=httpx.Limits(max_connections=32)) as http:
            for _ in range(4 * workers):
                await http.get("/healthz")
            warm = Holder()
            await open_all([0], baseline_opener(server), 1, warm)
            await warm.close()
            await asyncio.sleep(0.5)
            rss_before = server.rss()
            opened = await open_all(ids, baseline_opener(server), params.open_parallel, holder)
            await asyncio.sleep(params.settle_seconds)
            rss_after = server.rss()

            async def send(candidate_id: int, k: int) -> bool:
                response = await http.post(
                    "/push", json={"candidate_id": candidate_id, "message_id": k}
                )
                return response.status_code == 200

            figures = await rounds(params, holder, ids, send)
            storm: dict[str, Any] = {}
            if workers == 1:
                holder, storm = await reconnect_storm(
                    params, holder, ids, baseline_opener(server), None
                )
                after = await rounds(replace(params, rounds=1), holder, ids, send)
                storm["lost_after"], storm["sent_after"] = after["lost"], after["sent"]
        return {
            **figures, "storm": storm, "open": len(holder.sockets), "open_seconds": opened,
            "rss_before": rss_before, "rss_after": rss_after,
            "per_socket_kb": (rss_after - rss_before) / max(len(holder.sockets), 1) / 1024,
            "errors": holder.errors[:5], "error_count": len(holder.errors),
        }
    finally:
        await holder.close()
        await server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _plain(result: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.as_dict() if isinstance(v, Figure) else v) for k, v in result.items()}


async def run(
    params: LiveParams, redis_reason: str | None, pg_reason: str | None = None
) -> dict[str, Any]:
    raise_fd_limit()
    variants: list[tuple[str, int, str | None]] = [("memory broker, SQLite", 1, None)]
    skipped = []
    if redis_reason is not None:
        skipped.append(f"Redis broker, 2 workers: skipped: {redis_reason}")
    elif pg_reason is not None:
        # Two processes on one SQLite file hit "database is locked"; the scale-out pair is PG.
        skipped.append(f"Redis broker, 2 workers: skipped: needs PostgreSQL: {pg_reason}")
    else:
        variants.append(("Redis broker, PostgreSQL", 2, "redis"))
    rows = []
    for label, workers, broker in variants:
        for size in params.sizes:
            url = redis_broker_url() if broker == "redis" else None
            log(f"live: {label}, {workers} worker(s), {size} sockets: service")
            if broker == "redis":
                async with pg_database() as database_url:
                    service = await measure_service(params, size, workers, url, database_url)
            else:
                service = await measure_service(params, size, workers, url)
            log(f"live: {label}, {size} sockets: baseline")
            base_url = redis_broker_url() if broker == "redis" else None
            baseline = await measure_baseline(params, size, workers, base_url)
            rows.append({
                "variant": label, "workers": workers, "sockets": size,
                "service": service, "baseline": baseline,
            })
            log(
                f"live: {label} {size}: service p50 {service['p50'].show('{:.1f}')} ms "
                f"lost {service['lost']} {service['per_socket_kb']:.1f} KB/socket; baseline p50 "
                f"{baseline['p50'].show('{:.1f}')} ms {baseline['per_socket_kb']:.1f} KB/socket"
            )
    return {"params": params.__dict__, "rows": rows, "skipped": skipped}


def as_json(part: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for row in part["rows"]:
        rows.append({**row, "service": _plain(row["service"]), "baseline": _plain(row["baseline"])})
    return {**part, "rows": rows}


def table(part: dict[str, Any]) -> list[str]:
    p = part["params"]
    lines = [
        f"**Live feedback** — `reviewEvents` over graphql-transport-ws vs bare Starlette WebSockets; "
        f"{p['rounds']} rounds × {p['returns_per_round']} returns at {p['rate_per_second']:g}/s; "
        "latency = examiner's response received → event received (ms; the event is published "
        "before the response is written, so it can be negative), and sent → received, which the "
        "ratio uses; median of per-round p50/p99 (min–max); memory = server RSS growth ÷ open "
        "sockets (one measurement).",
        "",
        "| broker | workers | sockets | service p50 | baseline p50 | service p99 | baseline p99 "
        "| sent→receipt p50 service / baseline | ratio | lost (service · baseline) "
        "| KB/socket service / baseline | memory ratio | open all, s (svc / base) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in part["rows"]:
        s, b = row["service"], row["baseline"]
        mem_ratio = s["per_socket_kb"] / b["per_socket_kb"] if b["per_socket_kb"] > 0 else float("nan")
        lost = f"{s['lost']}/{s['sent']} · {b['lost']}/{b['sent']}"
        if s["open"] < row["sockets"] or b["open"] < row["sockets"]:
            lost += f" (opened {s['open']}/{b['open']})"
        lines.append(
            f"| {row['variant']} | {row['workers']} | {row['sockets']} "
            f"| {s['p50'].show()} | {b['p50'].show()} | {s['p99'].show()} | {b['p99'].show()} "
            f"| {s['p50_from_send'].show()} / {b['p50_from_send'].show()} "
            f"| {ratio(s['p50_from_send'], b['p50_from_send']).show('{:.1f}')} "
            f"| {lost} | {s['per_socket_kb']:.1f} / {b['per_socket_kb']:.1f} | {mem_ratio:.1f} "
            f"| {s['open_seconds']:.1f} / {b['open_seconds']:.1f} |"
        )
    storms = [row for row in part["rows"] if row["service"].get("storm")]
    if storms:
        lines += [
            "",
            "**Reconnect storm** — every page's socket dropped at once (a worker restart) and "
            f"reopened, {p['open_parallel']} at a time: seconds until every page is open again and "
            "its subscription live (broker holds it, no batched lookup waiting); database "
            "statements the worker sent meanwhile (`bench/counted_app.py`); then one round of "
            "returns to count events lost.",
            "",
            "| broker | sockets | service s | baseline s | ratio | statements | per page "
            "| lost after (service · baseline) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in storms:
            s, b = row["service"]["storm"], row["baseline"]["storm"]
            lines.append(
                f"| {row['variant']} | {row['sockets']} | {s['seconds']:.2f} | {b['seconds']:.2f} "
                f"| {s['seconds'] / b['seconds']:.1f} | {s['statements']} "
                f"| {s['statements'] / max(s['reopened'], 1):.2f} "
                f"| {s['lost_after']}/{s['sent_after']} · {b['lost_after']}/{b['sent_after']} |"
            )
    lines.extend(f"\n{s}" for s in part["skipped"])
    return lines


if __name__ == "__main__":
    import sys

    import uvloop

    sizes = tuple(int(a) for a in sys.argv[1:]) or (200,)
    quick = LiveParams(sizes=sizes, rounds=2, returns_per_round=20)
    out = uvloop.run(run(quick, "quick run"))
    print("\n".join(table(out)))

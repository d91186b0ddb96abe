"""Part 4: the cost of a start. Seconds from `exam-review serve` to the first answered GraphQL
request, and the idle RSS after it; the baseline is uvicorn starting the bare Starlette app.

The service's figure includes `serve` checking migrations (nothing to apply: the folder was
migrated once before the first repeat), the app factory, and Tortoise connecting.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.common import Figure, Server, log, migrate_and_demo, spawn_baseline, spawn_service


@dataclass(frozen=True)
class StartParams:
    repeats: int = 5
    idle_seconds: float = 1.0


async def first_answer(server: Server, path: str, body: dict[str, Any] | None, limit: float = 60) -> float:
    """Seconds from the process start to the first 200, polling every 5 ms."""
    started = server_started = time.perf_counter()
    deadline = started + limit
    async with httpx.AsyncClient(timeout=2) as http:
        while time.perf_counter() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(server.log.read_text()[-2000:])
            try:
                if body is None:
                    response = await http.get(server.base + path)
                else:
                    response = await http.post(server.base + path, json=body)
                if response.status_code == 200:
                    return time.perf_counter() - server_started
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.005)
    raise RuntimeError("no answer")


async def run(params: StartParams) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-start-"))
    service_s, service_rss, base_s, base_rss = Figure(), Figure(), Figure(), Figure()
    try:
        migrate_and_demo(folder)
        for _ in range(params.repeats):
            server = spawn_service(folder, 1)
            try:
                service_s.add(await first_answer(server, "/graphql", {"query": "{ __typename }"}))
                await asyncio.sleep(params.idle_seconds)
                service_rss.add(server.rss() / 2**20)
            finally:
                server.stop()
            baseline = spawn_baseline(folder, 1)
            try:
                base_s.add(await first_answer(baseline, "/healthz", None))
                await asyncio.sleep(params.idle_seconds)
                base_rss.add(baseline.rss() / 2**20)
            finally:
                baseline.stop()
        log(f"start: service {service_s.show('{:.2f}')} s {service_rss.show()} MiB; "
            f"baseline {base_s.show('{:.2f}')} s {base_rss.show()} MiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"params": params.__dict__, "service_seconds": service_s, "service_rss_mib": service_rss,
            "baseline_seconds": base_s, "baseline_rss_mib": base_rss}


def as_json(part: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.as_dict() if isinstance(v, Figure) else v) for k, v in part.items()}


def table(part: dict[str, Any]) -> list[str]:
    s, b = part["service_seconds"], part["baseline_seconds"]
    sr, br = part["service_rss_mib"], part["baseline_rss_mib"]
    t_ratio = Figure([x / y for x, y in zip(s.samples, b.samples, strict=False) if y])
    m_ratio = Figure([x / y for x, y in zip(sr.samples, br.samples, strict=False) if y])
    return [
        f"**Cost of a start** — {part['params']['repeats']} starts each, one worker, SQLite "
        "(already migrated); time from spawning the process to the first 200.",
        "",
        "| | service (`exam-review serve`) | baseline (uvicorn + bare Starlette) | ratio |",
        "|---|---|---|---|",
        f"| first answer, s | {s.show('{:.2f}')} | {b.show('{:.2f}')} | {t_ratio.show('{:.1f}')} |",
        f"| idle RSS, MiB | {sr.show()} | {br.show()} | {m_ratio.show('{:.1f}')} |",
    ]


if __name__ == "__main__":
    out = asyncio.run(run(StartParams(repeats=2)))
    print("\n".join(table(out)))

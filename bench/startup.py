"""Part 4: the cost of a start. Seconds from `exam-review serve` to the first answered GraphQL
request, and the idle RSS after it; the baseline is uvicorn starting the bare Starlette app.

The service's figure includes `serve` checking migrations (nothing to apply: the folder was
migrated once before the first repeat), the app factory, and Tortoise connecting.

Both start from compiled bytecode, as an installed release does (installing a wheel compiles
its modules). The checkout is installed editable, and with PYTHONDONTWRITEBYTECODE=1 in the
environment (as on the team's machines) Python never writes the project's `__pycache__`: every
start then compiled about 100 modules from source first, ~0.15–0.3 s that no deployment pays.
"""

from __future__ import annotations

import asyncio
import compileall
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import ROOT, Figure, log, migrate_and_demo, spawn_baseline, spawn_service

# Poll often: the figure is the time to the first answer.
POLL_SECONDS = 0.005


# The project's packages (site-packages were compiled when pip installed them).
PACKAGES = ("server", "schema", "resolvers", "core", "storage", "pubsub", "models", "bench")


def compile_bytecode() -> None:
    """Write the project's `__pycache__` (compileall writes even under PYTHONDONTWRITEBYTECODE)."""
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


@dataclass(frozen=True)
class StartParams:
    repeats: int = 5
    idle_seconds: float = 1.0


async def run(params: StartParams) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-start-"))
    service_s, service_rss, base_s, base_rss = Figure(), Figure(), Figure(), Figure()
    try:
        migrate_and_demo(folder)
        compile_bytecode()
        for _ in range(params.repeats):
            server = spawn_service(folder, 1)
            try:
                service_s.add(await server.wait_ready(
                    "/graphql", json={"query": "{ __typename }"}, every=POLL_SECONDS
                ))
                await asyncio.sleep(params.idle_seconds)  # idle memory: nothing to wait for
                service_rss.add(server.rss() / 2**20)
            finally:
                await server.stop()
            baseline = spawn_baseline(folder, 1)
            try:
                base_s.add(await baseline.wait_ready("/healthz", every=POLL_SECONDS))
                await asyncio.sleep(params.idle_seconds)
                base_rss.add(baseline.rss() / 2**20)
            finally:
                await baseline.stop()
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

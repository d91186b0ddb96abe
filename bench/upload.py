"""Part 1: the upload path, service against baseline, driven by wrk.

The service gets `uploadAttachment` as the page sends it (GraphQL multipart, signed in); the
baseline gets the same bytes on a bare Starlette route. Every service request goes to a
(candidate, category) pair that still has a free slot, so every one is a real, successful
upload: nothing is faked and nothing is deleted in between.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    ROOT,
    Figure,
    category_ids,
    distinct_jpegs,
    log,
    migrate_and_demo,
    pg_database,
    ratio,
    seed_candidates,
    spawn_baseline,
    spawn_service,
)
from tests.helpers.processes import ServerProcess

BOUNDARY = "----examReviewBench7MA4YWxkTrZu0gW"
UPLOAD = (
    "mutation($c: ID!, $f: Upload!) { uploadAttachment(categoryId: $c, file: $f) {"
    " attachment { id url thumbnailUrl contentType byteSize width height sha256 }"
    " errors { code message field } } }"
)
LUA = ROOT / "bench" / "upload.lua"
# Categories with a free slot per candidate (ID allows two, but one is used so that two
# workers never race for the same slot).
CATEGORIES = ("ID", "EDU", "PROBATION", "ASSISTANT_CERT")


@dataclass(frozen=True)
class UploadParams:
    concurrencies: tuple[int, ...] = (16, 64)
    workers: tuple[int, ...] = (1, 2)
    repeats: int = 3
    # 3 s × 3 repeats × 3 sides per cell keeps `make bench` within 15 minutes.
    seconds: float = 3.0
    warmup_seconds: float = 2
    pictures: int = 288
    candidates_per_run: int = 300


def multipart(category_id: int | None, picture: bytes) -> bytes:
    operations = json.dumps({"query": UPLOAD, "variables": {"c": str(category_id), "f": None}})
    parts = [
        ("operations", None, operations.encode()),
        ("map", None, json.dumps({"0": ["variables.f"]}).encode()),
        ("0", "photo.jpg", picture),
    ]
    out = bytearray()
    for name, filename, value in parts:
        out += f"--{BOUNDARY}\r\n".encode()
        if filename:
            out += (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: image/jpeg\r\n\r\n"
            ).encode()
        else:
            out += f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


def write_plan(folder: Path, name: str, bodies: list[bytes], requests: list[tuple[str, int]]) -> Path:
    lines = []
    for index, body in enumerate(bodies):
        path = folder / f"{name}-body{index}.bin"
        path.write_bytes(body)
        lines.append(f"B\t{path}")
    lines.extend(f"R\t{token}\t{body}" for token, body in requests)
    plan = folder / f"{name}.plan"
    plan.write_text("\n".join(lines) + "\n", encoding="ascii")
    return plan


def wrk(url: str, plan: Path, concurrency: int, seconds: float, marker: str, path: str) -> dict[str, Any]:
    threads = min(2, concurrency)
    command = [
        "wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "20s",
        "-s", str(LUA), url, "--", str(plan), str(threads), marker, path, BOUNDARY,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    figures: dict[str, Any] | None = None
    failure = ""
    for line in done.stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            figures = json.loads(line.removeprefix("BENCH_JSON "))
        elif line.startswith("BENCH_FAIL "):
            failure = line.removeprefix("BENCH_FAIL ")
    if figures is None:
        raise RuntimeError(f"wrk gave no figures: {done.stdout}\n{done.stderr}")
    figures["rps"] = figures["ok"] / (figures["duration_us"] / 1e6)
    figures["first_failure"] = failure
    return figures


@dataclass
class Cell:
    rps: Figure
    p50: Figure
    p99: Figure
    failed: int = 0
    requests: int = 0

    @classmethod
    def empty(cls) -> Cell:
        return cls(Figure(), Figure(), Figure())

    def add(self, run: dict[str, Any]) -> None:
        self.rps.add(run["rps"])
        self.p50.add(run["p50_us"] / 1000)
        self.p99.add(run["p99_us"] / 1000)
        self.failed += run["failed"] + run["wrapped"]
        self.requests += run["requests"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests_per_second": self.rps.as_dict(),
            "p50_ms": self.p50.as_dict(),
            "p99_ms": self.p99.as_dict(),
            "failed": self.failed,
            "requests": self.requests,
        }


async def _one_setup(
    database: str, database_url: str | None, workers: int, params: UploadParams,
    pictures: list[bytes], results: list[dict[str, Any]],
) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    service: ServerProcess | None = None
    baseline: ServerProcess | None = None
    try:
        migrate_and_demo(folder, database_url)
        categories = await category_ids(folder, database_url)
        runs = 1 + len(params.concurrencies) * params.repeats
        accounts = await seed_candidates(
            folder, params.candidates_per_run * runs, database_url=database_url
        )
        codes = [c for c in CATEGORIES if c in categories]
        bodies = [multipart(categories[code], p) for code in codes for p in pictures]
        baseline_plan = write_plan(
            folder, "baseline", [multipart(None, p) for p in pictures],
            [("-", i) for i in range(len(pictures))],
        )
        seen = 0
        blocks = []
        for run_no in range(runs):
            share = accounts[run_no * params.candidates_per_run : (run_no + 1) * params.candidates_per_run]
            # Category varies slowest, so one candidate's uploads are far apart in time; the
            # pictures go round, each run starting where the last one stopped.
            requests = [
                (account.token, c * len(pictures) + (seen + i) % len(pictures))
                for c in range(len(codes))
                for i, account in enumerate(share)
            ]
            seen += len(share)
            blocks.append(write_plan(folder, f"service{run_no}", bodies, requests))

        service = spawn_service(folder, workers, database_url=database_url)
        baseline = spawn_baseline(folder, workers)
        await service.wait_ready()
        await baseline.wait_ready()
        service_url, baseline_url = service.url, baseline.url
        log(f"upload: {database}, {workers} worker(s): warm-up")
        wrk(service_url, blocks[0], 16, params.warmup_seconds, '"sha256"', "/graphql")
        wrk(baseline_url, baseline_plan, 16, params.warmup_seconds, '"sha256"', "/upload")
        wrk(baseline_url, baseline_plan, 16, params.warmup_seconds, '"sha256"', "/upload-min")
        block = 1
        for concurrency in params.concurrencies:
            svc, base, floor = Cell.empty(), Cell.empty(), Cell.empty()
            first_failure = ""
            for repeat in range(params.repeats):
                # Rotate which goes first, so drift in the machine's load hits all alike.
                kinds = ("service", "baseline", "floor")
                order = kinds[repeat % 3:] + kinds[: repeat % 3]
                for which in order:
                    if which == "service":
                        figures = wrk(service_url, blocks[block], concurrency, params.seconds,
                                      '"sha256"', "/graphql")
                        block += 1
                        svc.add(figures)
                        first_failure = first_failure or figures["first_failure"]
                    elif which == "baseline":
                        base.add(wrk(baseline_url, baseline_plan, concurrency, params.seconds,
                                     '"sha256"', "/upload"))
                    else:
                        floor.add(wrk(baseline_url, baseline_plan, concurrency, params.seconds,
                                      '"sha256"', "/upload-min"))
            log(
                f"upload: {database} w={workers} c={concurrency}: service "
                f"{svc.rps.show()} req/s, baseline {base.rps.show()} req/s, "
                f"floor {floor.rps.show()} req/s"
                + (f"; {svc.failed} failed, first: {first_failure}" if svc.failed else "")
            )
            results.append(
                {
                    "database": database,
                    "workers": workers,
                    "concurrency": concurrency,
                    "service": svc.as_dict(),
                    "baseline": base.as_dict(),
                    "floor": floor.as_dict(),
                    "ratio_rps": ratio(svc.rps, base.rps).as_dict(),
                    "ratio_rps_floor": ratio(svc.rps, floor.rps).as_dict(),
                    "ratio_p50": ratio(svc.p50, base.p50).as_dict(),
                    "ratio_p99": ratio(svc.p99, base.p99).as_dict(),
                    "first_failure": first_failure,
                    "_cells": (svc, base, floor),
                }
            )
    finally:
        for server in (service, baseline):
            if server is not None:
                await server.stop()
        shutil.rmtree(folder, ignore_errors=True)


async def run(params: UploadParams, pg_reason: str | None) -> dict[str, Any]:
    pictures = distinct_jpegs(params.pictures)
    results: list[dict[str, Any]] = []
    skipped: list[str] = []
    for workers in params.workers:
        await _one_setup("SQLite", None, workers, params, pictures, results)
    if pg_reason is None:
        for workers in params.workers:
            async with pg_database() as url:
                await _one_setup("PostgreSQL", url, workers, params, pictures, results)
    else:
        skipped.append(f"PostgreSQL: skipped: {pg_reason}")
    return {
        "pictures": {
            "count": len(pictures),
            "bytes_min": min(map(len, pictures)),
            "bytes_max": max(map(len, pictures)),
            "size": "1440x1080",
        },
        "params": params.__dict__,
        "rows": results,
        "skipped": skipped,
    }


def table(part: dict[str, Any]) -> list[str]:
    pics = part["pictures"]
    lines = [
        f"**Upload path** — `uploadAttachment` vs bare Starlette baselines; wrk, "
        f"{part['params']['repeats']} × {part['params']['seconds']:g} s per cell; "
        f"{pics['count']} JPEGs {pics['size']} with fingerprints all far apart, "
        f"{pics['bytes_min'] / 1024:.0f}–{pics['bytes_max'] / 1024:.0f} KB. "
        "Median (min–max) over repeats; ratio = service ÷ baseline of the same repeat. "
        "Baseline: the same work (check, thumbnail, two fsynced writes); floor: a 1/8-scale "
        "decode and one fsynced write.",
        "",
        "| database | workers | conc. | service req/s | baseline req/s | floor req/s "
        "| ratio to baseline | ratio to floor | service p50 ms | service p99 ms "
        "| baseline p99 ms | ratio p99 | failed |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in part["rows"]:
        svc, base, floor = row["_cells"]
        lines.append(
            f"| {row['database']} | {row['workers']} | {row['concurrency']} "
            f"| {svc.rps.show()} | {base.rps.show()} | {floor.rps.show()} "
            f"| {_fig(row['ratio_rps'])} | {_fig(row['ratio_rps_floor'])} "
            f"| {svc.p50.show('{:.0f}')} | {svc.p99.show('{:.0f}')} "
            f"| {base.p99.show('{:.0f}')} "
            f"| {_fig(row['ratio_p99'])} | {svc.failed} |"
        )
    scaling = _scaling(part["rows"])
    if scaling:
        lines += ["", "Two workers against one (median req/s ratio): " + "; ".join(scaling) + "."]
    lines.extend(f"\n{s}" for s in part["skipped"])
    return lines


def _scaling(rows: list[dict[str, Any]]) -> list[str]:
    by_key = {(r["database"], r["workers"], r["concurrency"]): r for r in rows}
    found = []
    for (database, workers, concurrency), two in by_key.items():
        one = by_key.get((database, 1, concurrency))
        if workers != 2 or one is None:
            continue
        parts = [
            f"{name} {two[key]['requests_per_second']['median'] / one[key]['requests_per_second']['median']:.2f}×"
            for name, key in (("service", "service"), ("baseline", "baseline"), ("floor", "floor"))
            if one[key]["requests_per_second"]["median"]
        ]
        found.append(f"{database} c{concurrency}: " + ", ".join(parts))
    return found


def _fig(d: dict[str, Any]) -> str:
    if d["median"] is None:
        return "–"
    if len(d["samples"]) == 1:
        return f"{d['median']:.2f}"
    return f"{d['median']:.2f} ({d['min']:.2f}–{d['max']:.2f})"


if __name__ == "__main__":
    params = UploadParams(concurrencies=(16,), workers=(1,), repeats=1, seconds=3,
                          candidates_per_run=100, pictures=72)
    out = asyncio.run(run(params, "quick run"))
    print("\n".join(table(out)))

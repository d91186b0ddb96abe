"""The whole suite: start cost, upload path, live feedback, examiner queue, look-alikes. `make bench`
runs it.

Prints one markdown report to stdout (progress goes to stderr), writes it and the raw figures
to bench/results/ (git-ignored), and with --readme puts the report into bench/README.md.

    .venv/bin/python -m bench.run [--quick] [--parts start,upload,live,queue,lookalikes] [--readme]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

import uvloop

from bench import examiner_queue, live, lookalikes, startup, upload
from bench.common import ROOT, log, pg_available, raise_fd_limit, redis_available

RESULTS = ROOT / "bench" / "results"
README = ROOT / "bench" / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
PARTS = ("start", "upload", "live", "queue", "lookalikes")


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        mem_kb = int(handle.readline().split()[1])
    pg = subprocess.run(["psql", "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "postgresql_client": pg, "load_average_at_start": os.getloadavg(),
    }


def params_for(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "start": startup.StartParams(repeats=2),
            "upload": upload.UploadParams(concurrencies=(16,), workers=(1,), repeats=1,
                                          seconds=3, candidates_per_run=150, pictures=72),
            "live": live.LiveParams(sizes=(200,), rounds=2, returns_per_round=20),
            "queue": examiner_queue.QueueParams(candidates=50_000, rounds=2, requests_per_round=10,
                                       page=100),
            "lookalikes": lookalikes.LookalikeParams(pictures=200_000, pool_per_kind=40, queries=50,
                                                     rounds=2),
        }
    return {
        "start": startup.StartParams(),
        "upload": upload.UploadParams(),
        "live": live.LiveParams(),
        "queue": examiner_queue.QueueParams(),
        "lookalikes": lookalikes.LookalikeParams(),
    }


async def suite(
    parts: list[str], quick: bool, pg_reason: str | None, redis_reason: str | None
) -> tuple[list[str], dict[str, Any]]:
    params = params_for(quick)
    for reason in (pg_reason, redis_reason):
        if reason:
            log(f"skipped: {reason}")
    report: list[str] = []
    raw: dict[str, Any] = {}
    timings: dict[str, float] = {}
    for part in parts:
        started = time.perf_counter()
        if part == "start":
            out = await startup.run(params["start"])
            raw["start"], lines = startup.as_json(out), startup.table(out)
        elif part == "upload":
            out = await upload.run(params["upload"], pg_reason)
            lines = upload.table(out)
            raw["upload"] = {**out, "rows": [{k: v for k, v in r.items() if k != "_cells"}
                                             for r in out["rows"]]}
        elif part == "live":
            out = await live.run(params["live"], redis_reason, pg_reason)
            raw["live"], lines = live.as_json(out), live.table(out)
        elif part == "queue":
            out = await examiner_queue.run(params["queue"], pg_reason)
            raw["queue"], lines = examiner_queue.as_json(out), examiner_queue.table(out)
        elif part == "lookalikes":
            out = await lookalikes.run(params["lookalikes"], pg_reason)
            raw["lookalikes"], lines = lookalikes.as_json(out), lookalikes.table(out)
        else:
            raise SystemExit(f"unknown part {part!r}; choose from {', '.join(PARTS)}")
        timings[part] = time.perf_counter() - started
        report.extend([*lines, ""])
    raw["seconds_per_part"] = timings
    return report, raw


def header(info: dict[str, Any], command: str, total: float, quick: bool) -> list[str]:
    load = ", ".join(f"{x:.1f}" for x in info["load_average_at_start"])
    load_end = ", ".join(f"{x:.1f}" for x in info["load_average_at_end"])
    return [
        f"Ran {info['finished']} on {info['cpu']}, {info['cores']} cores, "
        f"{info['memory_gib']} GiB, Linux {info['kernel']}, Python {info['python']}, "
        f"{info['postgresql_client']}; load average {load} at start, {load_end} at the end "
        f"(a shared machine). Took {total / 60:.1f} min{' (quick mode)' if quick else ''}. "
        f"Rerun: `{command}`.",
        "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for developing")
    parser.add_argument("--parts", default=",".join(PARTS))
    parser.add_argument("--readme", action="store_true", help="also write the report into bench/README.md")
    args = parser.parse_args()
    raise_fd_limit()
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    info = machine()
    started = time.perf_counter()
    # Checked before the suite's event loop starts (pg_available runs a loop of its own).
    pg_reason, redis_reason = pg_available(), redis_available()
    report, raw = uvloop.run(suite(parts, args.quick, pg_reason, redis_reason))
    total = time.perf_counter() - started
    info["load_average_at_end"] = os.getloadavg()
    info["finished"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "make bench" + (" BENCH_ARGS=--quick" if args.quick else "")
    text = "\n".join(header(info, command, total, args.quick) + report).rstrip() + "\n"
    print(text)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = {"machine": info, "quick": args.quick, "parts": parts, "seconds": total, **raw}
    for name in (f"{stamp}.json", "latest.json"):
        (RESULTS / name).write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str),
                                    encoding="utf-8")
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    log(f"wrote {RESULTS / (stamp + '.json')} and latest.md in {total / 60:.1f} min")
    if args.readme and README.exists():
        current = README.read_text(encoding="utf-8")
        if START in current and END in current:
            head, rest = current.split(START, 1)
            tail = rest.split(END, 1)[1]
            README.write_text(f"{head}{START}\n{text}{END}{tail}", encoding="utf-8")
            log("updated bench/README.md")


if __name__ == "__main__":
    main()

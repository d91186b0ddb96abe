"""Where an open page's memory goes: tracemalloc in the service worker, per socket, by file.

    .venv/bin/python -m bench.live_memory [sockets [file]]

With a file name (`contextlib`, `queues.py`), also prints where that file's allocations came from.

Opens `sockets` candidate pages (connection_init + `reviewEvents`), waits until every
subscription is live, and prints what the worker allocated meanwhile and still holds, divided by
the sockets, by source file (tracemalloc's innermost frame), with the RSS growth per socket.
tracemalloc itself costs memory and time: compare runs with each other, not with bench/live.py.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import migrate_and_demo, raise_fd_limit, seed_candidates
from bench.live import Holder, LiveParams, open_all, service_opener, spawn_counted_service


async def measure(size: int) -> list[str]:
    raise_fd_limit()
    folder = Path(tempfile.mkdtemp(prefix="bench-live-memory-"))
    holder = Holder()
    server = None
    try:
        migrate_and_demo(folder)
        accounts = await seed_candidates(folder, size + 1, status="SUBMITTED")
        tokens = {a.id: a.token for a in accounts}
        frames = "12" if len(sys.argv) > 2 else "1"
        server = spawn_counted_service(
            folder, 1, None, None, BENCH_TRACEMALLOC="1", BENCH_TRACEMALLOC_FRAMES=frames
        )
        await server.wait_ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            warm = Holder()
            first, *rest = list(tokens)
            await open_all([first], service_opener(server, tokens), 1, warm)
            await warm.close()
            await http.post("/bench/memory")
            rss_before = server.rss()
            await open_all(rest, service_opener(server, tokens), LiveParams().open_parallel, holder)
            deadline = time.perf_counter() + 120
            while time.perf_counter() < deadline:
                state = (await http.get("/bench/live")).json()
                if state["subscribers"] >= len(holder.sockets) and state["idle"]:
                    break
                await asyncio.sleep(0.05)
            rss_after = server.rss()
            stats = (await http.get("/bench/memory")).json()
            if len(sys.argv) > 2:  # a file name: where its allocations were made from
                detail = (await http.get("/bench/memory", params={"by": "traceback"})).json()
                for stat in detail:
                    if sys.argv[2] in stat["file"] and stat["bytes"] > 10 * len(holder.sockets):
                        print(f"{stat['bytes'] / len(holder.sockets):.0f} B/socket", *stat["frames"][-8:], sep="\n  ")
        count = max(len(holder.sockets), 1)
        total = sum(s["bytes"] for s in stats)
        lines = [
            f"{len(holder.sockets)} sockets; traced {total / count / 1024:.1f} KB per socket; "
            f"RSS {(rss_after - rss_before) / count / 1024:.1f} KB per socket",
            "",
            "| file | KB per socket | blocks per socket |",
            "|---|---|---|",
        ]
        root = str(Path(sys.prefix))
        for stat in stats[:25]:
            name = stat["file"].replace(root, "venv")
            lines.append(f"| {name} | {stat['bytes'] / count / 1024:.2f} | {stat['count'] / count:.1f} |")
        return lines
    finally:
        await holder.close()
        if server is not None:
            await server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    import uvloop

    sockets = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    print("\n".join(uvloop.run(measure(sockets))))

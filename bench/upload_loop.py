"""One client uploading in a loop against a real `exam-review serve`: uploads per second.

Each round uploads a photo-like 150–200 KB JPEG into 学历证明 and deletes it again, so the
category never fills. Prints the median and spread of the upload latency over N rounds.

    .venv/bin/python bench/upload_loop.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers.pictures import photo  # noqa: E402
from tests.helpers.processes import EXAM_REVIEW, ServerProcess  # noqa: E402

UPLOAD = (
    "mutation($c: ID!, $f: Upload!) { uploadAttachment(categoryId: $c, file: $f)"
    " { attachment { id byteSize } errors { code message } } }"
)
DELETE = "mutation($id: ID!) { deleteAttachment(id: $id) { deletedId errors { code } } }"


def realistic_jpeg() -> bytes:
    """About 1600×1200 and 150–200 KB, like a phone photo after the page shrinks it."""
    for quality in range(80, 20, -5):
        data = photo(1600, 1200, quality=quality, seed=7)
        if len(data) <= 200 * 1024:
            return data
    raise RuntimeError("could not make a realistic JPEG")


async def run(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "VAR_DIR": folder}
        await asyncio.to_thread(
            subprocess.run, [EXAM_REVIEW, "demo"], env=env, check=True, capture_output=True
        )
        server = ServerProcess.serve(env, Path(folder)).start()
        try:
            await server.wait_ready()
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                login = await http.post("/graphql", json={"query": 'mutation { login(username: "zhangwei", password: "kaosheng2026") { token } }'})
                token = login.json()["data"]["login"]["token"]
                me = await http.post(
                    "/graphql", json={"query": "{ me { materials { category { id code } } } }"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                category = next(
                    m["category"]["id"] for m in me.json()["data"]["me"]["materials"]
                    if m["category"]["code"] == "EDU"
                )
                picture = realistic_jpeg()
                headers = {"Authorization": f"Bearer {token}"}
                timings = []
                for _ in range(rounds):
                    started = time.perf_counter()
                    response = await http.post(
                        "/graphql",
                        headers=headers,
                        data={
                            "operations": json.dumps({"query": UPLOAD, "variables": {"c": category, "f": None}}),
                            "map": json.dumps({"0": ["variables.f"]}),
                        },
                        files={"0": ("photo.jpg", picture, "image/jpeg")},
                    )
                    timings.append(time.perf_counter() - started)
                    attachment = response.json()["data"]["uploadAttachment"]["attachment"]
                    await http.post(
                        "/graphql", headers=headers,
                        json={"query": DELETE, "variables": {"id": attachment["id"]}},
                    )
        finally:
            await server.stop()
    median = statistics.median(timings)
    return {
        "rounds": rounds,
        "picture_bytes": len(picture),
        "median_ms": median * 1000,
        "min_ms": min(timings) * 1000,
        "max_ms": max(timings) * 1000,
        "uploads_per_second": 1 / median,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    figures = asyncio.run(run(parser.parse_args().rounds))
    print("| rounds | picture | median | min–max | uploads/s (one client) |")
    print("|---|---|---|---|---|")
    print(
        f"| {figures['rounds']} | {figures['picture_bytes'] / 1024:.0f} KB | "
        f"{figures['median_ms']:.1f} ms | {figures['min_ms']:.1f}–{figures['max_ms']:.1f} ms | "
        f"{figures['uploads_per_second']:.1f} |"
    )


if __name__ == "__main__":
    main()

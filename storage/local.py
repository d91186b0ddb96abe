"""Pictures in a local folder, written to a temporary name, fsynced and renamed."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from storage.base import ObjectMissing, PictureStore, StoredObject

_TMP_SUFFIX = ".partial"


class LocalStore(PictureStore):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    async def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    async def ping(self) -> None:
        await asyncio.to_thread(self._writable)

    def _writable(self) -> None:
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a folder")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} is not writable")

    def _path(self, key: str) -> Path:
        # Keys come from the service, but refuse anything that could leave the root.
        if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key:
            raise ValueError(f"bad storage key {key!r}")
        return self.root / key

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), data)

    @staticmethod
    def _put(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}{_TMP_SUFFIX}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        # The rename is durable only once the folder entry is.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise ObjectMissing(key) from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def scan(self) -> AsyncIterator[StoredObject]:
        paths = await asyncio.to_thread(lambda: [p for p in self.root.rglob("*") if p.is_file()])
        for path in paths:
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue
            key = path.relative_to(self.root).as_posix()
            yield StoredObject(key=key, modified_at=datetime.fromtimestamp(mtime, UTC))

"""The one interface every picture store implements."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime


class ObjectMissing(LookupError):
    """No bytes are stored under the key."""


class StoreUnavailable(OSError):
    """The store did not answer (down, unreachable, overloaded): worth trying again later."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified_at: datetime


class PictureStore(abc.ABC):
    """Keys are chosen by the service (never by users); values are whole files."""

    async def start(self) -> None:
        """Prepare the store (create folders or the bucket); safe to call repeatedly."""

    async def close(self) -> None:
        """Release clients and connections."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Return once the store answers and could take a write; raise otherwise (for /readyz)."""

    @abc.abstractmethod
    async def put(self, key: str, data: bytes) -> None:
        """Store durably and atomically: after it returns, `get(key)` gives exactly `data`."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes:
        """Return the bytes, or raise ObjectMissing."""

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove the key; a missing key is not an error."""

    @abc.abstractmethod
    def scan(self) -> AsyncIterator[StoredObject]:
        """Every stored key, for the orphan sweep."""


def open_store(url: str) -> PictureStore:
    """Build the store a STORAGE_URL names."""
    if url.startswith("file://"):
        from storage.local import LocalStore

        return LocalStore(url.removeprefix("file://"))
    if url.startswith("s3://"):
        from storage.s3 import S3Store

        return S3Store.from_url(url)
    raise ValueError(f"unsupported STORAGE_URL: {url!r}")

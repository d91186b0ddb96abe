"""What every resolver receives: the services, the request and who is asking."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from core.batching import Batcher, K, Load, V
from core.metrics import Metrics
from core.scope import Scope
from core.settings import Settings
from core.trace import RequestTrace
from models import Candidate, MaterialCategory, RequirementRule, StaffUser
from models.enums import Role
from pubsub import Broker
from storage import PictureStore


@dataclass
class Services:
    """Built once by the app factory and shared by every request."""

    settings: Settings
    store: PictureStore
    broker: Broker
    metrics: Metrics = field(default_factory=Metrics)
    # Lookups coalesced across concurrent requests and sockets, by name (core/batching.py).
    batchers: dict[str, Batcher[Any, Any]] = field(default_factory=dict)
    catalogs: CatalogCache = field(init=False)

    def __post_init__(self) -> None:
        self.catalogs = CatalogCache(self.settings.catalog_cache_seconds)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.timezone)

    def batcher(self, name: str, load: Load[K, V]) -> Batcher[K, V]:
        """The process's batcher of that name, made on first use."""
        batcher = self.batchers.get(name)
        if batcher is None:
            batcher = self.batchers[name] = Batcher(load)
        return batcher


@dataclass
class Viewer:
    role: Role
    session_id: str
    candidate: Candidate | None = None
    staff: StaffUser | None = None

    @property
    def display_name(self) -> str:
        if self.staff is not None:
            return self.staff.name
        return self.candidate.name if self.candidate is not None else ""

    @property
    def scope(self) -> Scope | None:
        """What a member of staff may see; None for candidates (they see only themselves)."""
        return Scope.of(self.staff) if self.staff is not None else None


@dataclass
class Catalog:
    """Every category and requirement rule."""

    categories: dict[int, MaterialCategory]
    rules: list[RequirementRule]


@dataclass
class CatalogCache:
    """The catalog, read at most once per `seconds` per process.

    It changes only when an administrator imports categories, and every upload, submission
    and picture card needs it: reading it per request was 8 % of an upload's time. An import
    run from the command line reaches each serving process within `seconds`; `forget` drops
    it at once. Callers only read the instances it hands out.
    """

    seconds: float
    _catalog: Catalog | None = field(default=None, repr=False)
    _read_at: float = 0.0

    async def get(self) -> Catalog:
        now = time.monotonic()
        if self._catalog is None or now - self._read_at >= self.seconds:
            categories = {c.id: c for c in await MaterialCategory.all()}
            rules = await RequirementRule.all()
            self._catalog, self._read_at = Catalog(categories=categories, rules=rules), now
        return self._catalog

    def forget(self) -> None:
        self._catalog = None


@dataclass
class Context:
    services: Services
    request: Request | WebSocket
    response: Response | WebSocket | None = None
    viewer: Viewer | None = None
    # True when a token was sent but is bad (tampered, expired or revoked).
    bad_token: bool = False
    connection_params: dict[str, Any] | None = None
    trace: RequestTrace = field(default_factory=RequestTrace)
    _catalog: Catalog | None = field(default=None, repr=False)

    @property
    def client_address(self) -> str:
        client = self.request.client
        return client.host if client is not None else "unknown"

    async def catalog(self) -> Catalog:
        # One catalog for the whole request, even when the cache's time runs out during it.
        if self._catalog is None:
            self._catalog = await self.services.catalogs.get()
        return self._catalog

    def base_url(self) -> str:
        if self.services.settings.extra.get("public_url"):
            return str(self.services.settings.extra["public_url"]).rstrip("/")
        url = str(self.request.base_url).rstrip("/")
        if url.startswith("ws"):
            url = "http" + url.removeprefix("ws")
        return url

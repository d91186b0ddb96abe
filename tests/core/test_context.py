"""The catalog cache: read once, kept for its time, read again after it or when forgotten."""

from __future__ import annotations

from core.context import CatalogCache
from models import MaterialCategory
from tests.helpers.factories import unique
from tests.helpers.service import Service


async def test_the_catalog_is_kept_for_its_time_and_read_again_after(service: Service) -> None:
    cache = CatalogCache(seconds=3600)
    with service.db():
        first = await cache.get()
        added = await MaterialCategory.create(code=unique("CACHE"), name="缓存测试")
        try:
            # Within its time the process answers from memory: the new category is not seen.
            assert await cache.get() is first
            assert added.id not in first.categories

            cache._read_at -= 3600  # the time has run out
            again = await cache.get()
            assert again is not first and added.id in again.categories

            await MaterialCategory.filter(id=added.id).update(name="缓存测试（改）")
            cache.forget()  # an import in this process
            assert (await cache.get()).categories[added.id].name == "缓存测试（改）"
        finally:
            await added.delete()


async def test_no_time_reads_on_every_call(service: Service) -> None:
    cache = CatalogCache(seconds=0)
    with service.db():
        first = await cache.get()
        assert await cache.get() is not first


async def test_one_request_sees_one_catalog_and_the_services_share_it(service: Service) -> None:
    shared = service.services.catalogs
    assert shared.seconds == service.settings.catalog_cache_seconds > 0
    with service.db():
        assert await shared.get() is await shared.get()

"""storage/s3.py against a real SeaweedFS: the PictureStore promises, on S3."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from storage.base import ObjectMissing, open_store
from storage.s3 import S3Store
from tests.helpers.factories import unique
from tests.helpers.pictures import small_jpeg
from tests.helpers.service import ScaleStack


async def started(stack: ScaleStack, bucket: str, prefix: str = "") -> S3Store:
    store = open_store(stack.s3.storage_url(bucket, prefix))
    assert isinstance(store, S3Store)
    await store.start()
    return store


def bucket_name() -> str:
    return unique("er-s3-").replace("_", "-").lower()


async def test_put_get_delete_scan_round_trip(scale_stack: ScaleStack) -> None:
    bucket = bucket_name()
    store = await started(scale_stack, bucket)  # creates the missing bucket
    try:
        data = small_jpeg(11)
        before = datetime.now(UTC) - timedelta(minutes=5)
        await store.put("pictures/1/a.jpg", data)
        # A second client (another worker) reads exactly the bytes once put returned.
        other = await started(scale_stack, bucket)
        try:
            assert await other.get("pictures/1/a.jpg") == data
        finally:
            await other.close()
        await store.put("pictures/1/a.jpg", b"replaced")
        assert await store.get("pictures/1/a.jpg") == b"replaced"
        listed = [item async for item in store.scan()]
        assert [item.key for item in listed] == ["pictures/1/a.jpg"]
        assert listed[0].modified_at.tzinfo is not None and listed[0].modified_at > before
        await store.delete("pictures/1/a.jpg")
        await store.delete("pictures/1/a.jpg")  # a missing key is not an error
        with pytest.raises(ObjectMissing):
            await store.get("pictures/1/a.jpg")
        assert [item async for item in store.scan()] == []
    finally:
        await store.close()


async def test_start_is_repeatable_and_keeps_objects(scale_stack: ScaleStack) -> None:
    bucket = bucket_name()
    store = await started(scale_stack, bucket)
    try:
        await store.put("k.jpg", b"kept")
        await store.start()  # the bucket exists: nothing happens
        again = await started(scale_stack, bucket)
        try:
            assert await again.get("k.jpg") == b"kept"
        finally:
            await again.close()
    finally:
        await store.close()


async def test_prefixes_share_a_bucket_without_seeing_each_other(scale_stack: ScaleStack) -> None:
    bucket = bucket_name()
    first = await started(scale_stack, bucket, "one")
    second = await started(scale_stack, bucket, "two")
    try:
        await first.put("pictures/9/x.jpg", b"1")
        await second.put("pictures/9/y.jpg", b"2")
        assert [i.key async for i in first.scan()] == ["pictures/9/x.jpg"]
        assert [i.key async for i in second.scan()] == ["pictures/9/y.jpg"]
        with pytest.raises(ObjectMissing):
            await first.get("pictures/9/y.jpg")
        # the orphan sweep of one service cannot remove another's bytes
        await first.delete("pictures/9/y.jpg")
        assert await second.get("pictures/9/y.jpg") == b"2"
    finally:
        await first.close()
        await second.close()


async def test_scan_pages_through_many_keys(scale_stack: ScaleStack) -> None:
    store = await started(scale_stack, bucket_name())
    try:
        keys = sorted(f"thumbnails/{n}/t.jpg" for n in range(1003))  # more than one page
        for start in range(0, len(keys), 50):
            await asyncio.gather(*(store.put(key, b"t") for key in keys[start : start + 50]))
        assert sorted([item.key async for item in store.scan()]) == keys
    finally:
        await store.close()


async def test_keys_that_could_escape_are_refused(scale_stack: ScaleStack) -> None:
    store = await started(scale_stack, bucket_name())
    try:
        for key in ("", "/abs.jpg", "a/../b.jpg", "a\\b.jpg"):
            with pytest.raises(ValueError):
                await store.put(key, b"x")
    finally:
        await store.close()


async def test_wrong_credentials_are_refused(scale_stack: ScaleStack) -> None:
    saved = os.environ["AWS_SECRET_ACCESS_KEY"]
    store = S3Store.from_url(scale_stack.s3.storage_url(scale_stack.bucket))
    os.environ["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    try:
        with pytest.raises(ClientError) as refused:
            await store.put("denied.jpg", b"x")
        assert refused.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}
    finally:
        os.environ["AWS_SECRET_ACCESS_KEY"] = saved
        await store.close()


def test_storage_url_is_parsed() -> None:
    store = S3Store.from_url(
        "s3://photos/exam/2026?endpoint=http://10.0.0.5:8333&region=cn-north-1"
    )
    assert (store.bucket, store.prefix) == ("photos", "exam/2026/")
    assert (store.endpoint_url, store.region) == ("http://10.0.0.5:8333", "cn-north-1")
    with pytest.raises(ValueError):
        S3Store.from_url("s3:///no-bucket")

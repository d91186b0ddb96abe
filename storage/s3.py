"""Pictures in an S3-compatible bucket (aiobotocore): a PUT is atomic and durable once answered."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from storage.base import ObjectMissing, PictureStore, StoredObject, StoreUnavailable

_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}
_BUCKET_EXISTS_CODES = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def _answering(action: str) -> Iterator[None]:
    """Turn "the server did not answer" (connection refused, timeouts, 5xx) into StoreUnavailable."""
    try:
        yield
    except (BotoConnectionError, HTTPClientError) as exc:
        raise StoreUnavailable(f"S3 {action}: {exc}") from exc
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if int(status or 0) >= 500:
            raise StoreUnavailable(f"S3 {action}: {_error_code(exc)}") from exc
        raise


class S3Store(PictureStore):
    """One bucket, optionally under a key prefix; credentials come from the usual AWS chain."""

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.region = region or os.environ.get("AWS_REGION") or "us-east-1"
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    @classmethod
    def from_url(cls, url: str) -> S3Store:
        """`s3://BUCKET[/PREFIX]?endpoint=http://host:port&region=…`."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"bad STORAGE_URL: {url!r}")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        return cls(
            parts.netloc,
            prefix=parts.path,
            endpoint_url=query.get("endpoint") or os.environ.get("AWS_ENDPOINT_URL") or None,
            region=query.get("region"),
        )

    async def _s3(self) -> Any:
        if self._client is None:
            stack = AsyncExitStack()
            config = AioConfig(
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
                # Path-style addressing works with every S3-compatible server.
                s3={"addressing_style": "path"},
            )
            self._client = await stack.enter_async_context(
                get_session().create_client(
                    "s3", endpoint_url=self.endpoint_url, region_name=self.region, config=config
                )
            )
            self._stack = stack
        return self._client

    def _key(self, key: str) -> str:
        # Keys come from the service, but refuse anything a path-minded server could misread.
        if not key or key.startswith("/") or ".." in key.split("/") or "\\" in key:
            raise ValueError(f"bad storage key {key!r}")
        return self.prefix + key

    async def start(self) -> None:
        client = await self._s3()
        try:
            await client.head_bucket(Bucket=self.bucket)
            return
        except ClientError as exc:
            if _error_code(exc) not in _MISSING_CODES | {"NoSuchBucket"}:
                raise
        try:
            await client.create_bucket(Bucket=self.bucket)
        except ClientError as exc:
            # Another worker created it between our HEAD and PUT.
            if _error_code(exc) not in _BUCKET_EXISTS_CODES:
                raise

    async def ping(self) -> None:
        client = await self._s3()
        with _answering("head_bucket"):
            await client.head_bucket(Bucket=self.bucket)

    async def close(self) -> None:
        stack, self._stack, self._client = self._stack, None, None
        if stack is not None:
            await stack.aclose()

    async def put(self, key: str, data: bytes) -> None:
        client = await self._s3()
        digest = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
        # The server checks Content-MD5 and stores the object whole or not at all.
        with _answering("put"):
            await client.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentMD5=digest
            )

    async def get(self, key: str) -> bytes:
        client = await self._s3()
        with _answering("get"):
            try:
                response = await client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if _error_code(exc) in _MISSING_CODES:
                    raise ObjectMissing(key) from exc
                raise
            async with response["Body"] as body:
                return bytes(await body.read())

    async def delete(self, key: str) -> None:
        client = await self._s3()
        with _answering("delete"):
            try:
                await client.delete_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if _error_code(exc) not in _MISSING_CODES:
                    raise

    async def scan(self) -> AsyncIterator[StoredObject]:
        client = await self._s3()
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", []):
                yield StoredObject(
                    key=item["Key"].removeprefix(self.prefix), modified_at=item["LastModified"]
                )

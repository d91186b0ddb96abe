"""Small helpers the proofs share: raw multipart bodies, raw sockets, stored-key checks."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.helpers.service import Service

# What a stored key may look like: every part chosen by the service, nothing by the user.
STORED_KEY = re.compile(
    r"^(pictures/\d+/[0-9a-f-]{36}\.(jpg|png)|thumbnails/\d+/[0-9a-f-]{36}\.jpg)$"
)
TIMEOUT = httpx.Timeout(20.0)


@dataclass
class Tally:
    """Counts what a proof tried, printed so a run shows the numbers the README quotes."""

    name: str
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n

    def report(self) -> None:
        print(f"\n[{self.name}] " + ", ".join(f"{k}={v}" for k, v in self.counts.items()))


def multipart(parts: list[tuple[bytes, bytes]], boundary: str | None = None) -> tuple[bytes, str]:
    """A multipart body from raw (Content-Disposition header value, content) pairs."""
    boundary = boundary or uuid.uuid4().hex
    chunks = []
    for disposition, content in parts:
        chunks.append(
            b"--" + boundary.encode() + b"\r\nContent-Disposition: " + disposition + b"\r\n\r\n"
            + content + b"\r\n"
        )
    chunks.append(b"--" + boundary.encode() + b"--\r\n")
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def field_part(name: str, value: Any) -> tuple[bytes, bytes]:
    text = value if isinstance(value, str) else json.dumps(value)
    return f'form-data; name="{name}"'.encode(), text.encode()


def file_part(name: str, filename: str, content: bytes) -> tuple[bytes, bytes]:
    return f'form-data; name="{name}"; filename="{filename}"'.encode(), content


async def post_raw(
    service: Service, body: bytes, content_type: str, token: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(base_url=service.base_url, timeout=TIMEOUT) as http:
        return await http.post("/graphql", content=body, headers=headers)


def address(service: Service) -> tuple[str, int]:
    host, port = service.base_url.removeprefix("http://").split(":")
    return host, int(port)


async def raw_exchange(service: Service, request: bytes, within: float = 20) -> bytes:
    """Send bytes on a fresh TCP connection and read until the server closes or `within` passes."""
    reader, writer = await asyncio.open_connection(*address(service))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(1 << 20), within)
    finally:
        writer.close()


def status_of(raw: bytes) -> int:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else 0

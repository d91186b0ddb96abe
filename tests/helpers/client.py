"""The one test client: GraphQL over HTTP (JSON and multipart uploads) and over WebSocket."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

# The GraphQL over WebSocket protocol the service speaks.
GRAPHQL_TRANSPORT_WS = Subprotocol("graphql-transport-ws")


@dataclass
class Result:
    status_code: int
    data: dict[str, Any] | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] | None = None
    # The X-Request-Id the service answered with.
    request_id: str | None = None

    @property
    def error_codes(self) -> list[str | None]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def payload(self, name: str) -> Any:
        """A top-level field's value (a mutation's payload, a query's answer), asserting that
        the operation itself did not fail: no GraphQL errors, data present."""
        assert not self.errors, self.errors
        assert self.data is not None
        return self.data[name]


@dataclass(frozen=True)
class FilePart:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"


class GraphQLClient:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=30)

    async def aclose(self) -> None:
        await self.http.aclose()

    def with_token(self, token: str | None) -> GraphQLClient:
        return GraphQLClient(self.base_url, token)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        headers.update(extra or {})
        return headers

    @staticmethod
    def _result(response: httpx.Response) -> Result:
        request_id = response.headers.get("x-request-id")
        try:
            body = response.json()
        except ValueError:
            return Result(response.status_code, None, [{"message": response.text}], None, request_id)
        return Result(
            response.status_code, body.get("data"), body.get("errors") or [], body, request_id
        )

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Result:
        response = await self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers=self._headers(headers),
        )
        return self._result(response)

    async def upload(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, FilePart],
        headers: dict[str, str] | None = None,
    ) -> Result:
        """Multipart per the GraphQL multipart request spec; `files` maps variable paths to parts."""
        # The files' variables are null in `operations`; `map` points the parts at them.
        operations = {"query": query, "variables": {**variables, **dict.fromkeys(files)}}
        file_map = {str(i): [f"variables.{path}"] for i, path in enumerate(files)}
        parts = {
            str(i): (part.filename, part.content, part.content_type)
            for i, part in enumerate(files.values())
        }
        response = await self.http.post(
            "/graphql",
            data={"operations": json.dumps(operations), "map": json.dumps(file_map)},
            files=parts,
            headers=self._headers(headers),
        )
        return self._result(response)

    async def login(self, username: str, password: str) -> GraphQLClient:
        result = await self.execute(
            "mutation($u: String!, $p: String!) { login(username: $u, password: $p)"
            " { token errors { code message } } }",
            {"u": username, "p": password},
        )
        payload = result.payload("login")
        assert payload["token"], payload["errors"]
        return self.with_token(payload["token"])

    @asynccontextmanager
    async def subscribe(
        self, query: str, variables: dict[str, Any] | None = None, token: str | None = None
    ) -> AsyncIterator[Subscription]:
        """Open a graphql-transport-ws socket, send connection_init and subscribe."""
        url = "ws" + self.base_url.removeprefix("http") + "/graphql"
        async with websockets.connect(url, subprotocols=[GRAPHQL_TRANSPORT_WS]) as socket:
            auth = token if token is not None else self.token
            payload = {"Authorization": f"Bearer {auth}"} if auth else {}
            await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
            ack = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert ack["type"] == "connection_ack", ack
            subscription = Subscription(socket, str(uuid.uuid4()))
            await socket.send(
                json.dumps(
                    {
                        "id": subscription.id,
                        "type": "subscribe",
                        "payload": {"query": query, "variables": variables or {}},
                    }
                )
            )
            yield subscription


class Subscription:
    def __init__(self, socket: ClientConnection, subscription_id: str) -> None:
        self.socket = socket
        self.id = subscription_id

    async def next(self, within: float = 10) -> dict[str, Any]:
        """The next `next` payload; fails on `error`, `complete` or after `within` seconds."""
        while True:
            message = json.loads(await asyncio.wait_for(self.socket.recv(), within))
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] == "pong":
                continue
            assert message.get("id") == self.id, message
            assert message["type"] == "next", message
            return message["payload"]

    async def nothing_within(self, seconds: float) -> bool:
        """True when no `next`, `error` or `complete` for this subscription arrives for `seconds`.

        Reads until the deadline, answering pings on the way; fails naming what arrived.
        """
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = json.loads(await asyncio.wait_for(self.socket.recv(), left))
            except TimeoutError:
                break
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] == "pong":
                continue
            assert message.get("id") != self.id, f"arrived within {seconds:g} s: {message}"
        return True

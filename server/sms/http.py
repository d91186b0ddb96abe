"""POSTing JSON with an HMAC-SHA256 signature and an idempotency key (SMS provider, webhooks)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from server.sms.base import DeliveryFailed, Gateway, Outgoing

SIGNATURE_HEADER = "X-Exam-Review-Signature"
TIMESTAMP_HEADER = "X-Exam-Review-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` over "<timestamp>.<body>", so a captured call cannot be replayed later."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class HttpPoster(Gateway):
    """Posts the row's body as it is to the row's target URL (webhooks)."""

    def __init__(self, secret: str, timeout: float) -> None:
        self.secret = secret
        self.timeout = timeout
        # No proxies from the environment: endpoints are called directly.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _post(self, url: str, body: bytes, key: str) -> None:
        timestamp = str(int(time.time()))
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                IDEMPOTENCY_HEADER: key,
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(self.secret, timestamp, body),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            raise DeliveryFailed(str(exc)) from exc

    def payload(self, item: Outgoing) -> tuple[str, bytes]:
        return item.target, item.body.encode()

    async def deliver(self, item: Outgoing) -> None:
        url, body = self.payload(item)
        await asyncio.to_thread(self._post, url, body, item.idempotency_key)


class HttpGateway(HttpPoster):
    """An SMS provider behind one URL: {"id", "phone", "text", "idempotencyKey"} as JSON."""

    def __init__(self, url: str, secret: str, timeout: float) -> None:
        super().__init__(secret, timeout)
        self.url = url

    def payload(self, item: Outgoing) -> tuple[str, bytes]:
        body = {
            "id": str(item.outbox_id),
            "phone": item.target,
            "text": item.body,
            "idempotencyKey": item.idempotency_key,
        }
        return self.url, json.dumps(body, ensure_ascii=False).encode()

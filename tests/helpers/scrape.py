"""Reading what operators read: /metrics parsed into samples, and the JSON request log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

REQUEST_LOG = "exam_review.requests"


@dataclass
class Scraped:
    text: str
    request_id: str

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` whose labels include `labels` (summed over the rest); 0 when absent."""
        total = 0.0
        for family in text_string_to_metric_families(self.text):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def has(self, name: str) -> bool:
        return any(
            sample.name == name
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
        )


async def scrape(base_url: str, headers: dict[str, str] | None = None) -> Scraped:
    """GET /metrics on a fresh connection (so several workers each get a turn)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        response = await http.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    return Scraped(response.text, response.headers["x-request-id"])


def log_lines(records: Iterable[logging.LogRecord]) -> list[dict[str, Any]]:
    """The request log lines among captured records (in-process services log through logging)."""
    return [json.loads(r.getMessage()) for r in records if r.name == REQUEST_LOG]


def file_log_lines(path: Path) -> list[dict[str, Any]]:
    """The JSON request lines in a `exam-review serve` log file (other lines are left out)."""
    lines = []
    for text in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if text.startswith("{") and '"request_id"' in text:
            lines.append(json.loads(text))
    return lines

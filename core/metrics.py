"""What /metrics shows, in the Prometheus text format (prometheus-client).

Counters, histograms and live gauges are kept per process. With several workers
(`exam-review serve --workers N`) they live in prometheus-client's multiprocess files in a
directory of the run, so whichever worker answers a scrape reports the totals of all of them.
Figures read from the database (queues, outbox) are read at scrape time by the scraping
worker alone, so they are never summed across workers.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

ANONYMOUS = "anonymous"
# Operation names come from callers: past this many distinct names a process labels the rest
# "other", so nobody can grow the series without bound by inventing names.
MAX_OPERATION_NAMES = 200
OTHER = "other"
_NAME_CHARS = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,99}$")

DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UPLOAD_BUCKETS = (16_384, 32_768, 65_536, 102_400, 153_600, 204_800, 262_144, 524_288, 1_048_576)


@dataclass(frozen=True)
class DatabaseFigures:
    """Counts read from the database at scrape time."""

    candidates_by_status: Mapping[str, int] = field(default_factory=dict)
    # (kind, status) -> rows
    outbox_by_status: Mapping[tuple[str, str], int] = field(default_factory=dict)
    # Seconds the oldest queued row has been due; 0 when nothing is due.
    outbox_oldest_due_seconds: float = 0.0
    # SUBMITTED candidates an examiner holds a live review claim on.
    live_claims: int = 0


class _Families:
    """A collector of families already built (what one scrape shows)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


class Metrics:
    """The service's metrics; one per app, built by the app factory and kept in Services."""

    def __init__(self, multiprocess_dir: str = "") -> None:
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir and not getattr(prometheus_values.ValueClass, "_multiprocess", False):
            raise RuntimeError(
                "PROMETHEUS_MULTIPROC_DIR must be set before prometheus_client is imported"
            )
        # `_created` series are not written in multiprocess mode: leave them out everywhere.
        disable_created_metrics()
        # Multiprocess values live in the run's files; a registry would only hold one process.
        self._registry = None if multiprocess_dir else CollectorRegistry()
        registry = self._registry
        self._operation_names: set[str] = set()
        self.graphql_requests = Counter(
            "exam_review_graphql_requests",
            "GraphQL operations answered, by operation name, type and outcome.",
            ["operation", "type", "outcome"],
            registry=registry,
        )
        self.graphql_duration = Histogram(
            "exam_review_graphql_request_duration_seconds",
            "Time from a request's arrival to its answer, by GraphQL operation (not subscriptions).",
            ["operation", "type"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.payload_errors = Counter(
            "exam_review_payload_errors",
            "Refusals answered in a payload's errors, by mutation and error code.",
            ["mutation", "code"],
            registry=registry,
        )
        self.http_requests = Counter(
            "exam_review_http_requests",
            "HTTP requests by route and status code.",
            ["route", "status"],
            registry=registry,
        )
        self.open_websockets = Gauge(
            "exam_review_open_websockets",
            "WebSocket connections open now.",
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.live_subscriptions = Gauge(
            "exam_review_live_subscriptions",
            "GraphQL subscriptions running now, by operation name.",
            ["operation"],
            multiprocess_mode="livesum",
            registry=registry,
        )
        self.upload_bytes = Histogram(
            "exam_review_upload_bytes",
            "Sizes of the picture files received by uploadAttachment (_sum: bytes received).",
            buckets=UPLOAD_BUCKETS,
            registry=registry,
        )

    def operation_label(self, name: str | None) -> str:
        """The `operation` label of a GraphQL operation name, bounded per process."""
        if not name:
            return ANONYMOUS
        if not _NAME_CHARS.match(name):
            return OTHER
        if name not in self._operation_names:
            if len(self._operation_names) >= MAX_OPERATION_NAMES:
                return OTHER
            self._operation_names.add(name)
        return name

    def render(self, figures: DatabaseFigures | None) -> bytes:
        """The text exposition: every process's series, and the database figures when read."""
        families: list[Metric] = list(self._process_families())
        families.extend(_database_families(figures))
        return generate_latest(_Families(families))

    def _process_families(self) -> Iterable[Metric]:
        if self._registry is not None:
            return self._registry.collect()
        _forget_dead_workers(self.multiprocess_dir)
        files = glob.glob(os.path.join(self.multiprocess_dir, "*.db"))
        return MultiProcessCollector.merge(files, accumulate=True)

    def close(self) -> None:
        """At worker shutdown: its live gauges (sockets, subscriptions) stop counting."""
        if self.multiprocess_dir:
            mark_process_dead(os.getpid(), self.multiprocess_dir)


def _forget_dead_workers(path: str) -> None:
    """Drop the live gauges of workers that died without shutting down (killed, crashed)."""
    for name in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        pid_text = Path(name).stem.rsplit("_", 1)[-1]
        if not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            mark_process_dead(int(pid_text), path)
        except PermissionError:
            pass  # alive, under another user


def _database_families(figures: DatabaseFigures | None) -> Iterator[Metric]:
    read = GaugeMetricFamily(
        "exam_review_database_figures_read",
        "1 when this scrape could read the database figures below, 0 when it could not.",
        value=0 if figures is None else 1,
    )
    yield read
    if figures is None:
        return
    candidates = GaugeMetricFamily(
        "exam_review_candidates",
        "Candidates by review status (SUBMITTED is the examiners' queue).",
        labels=["status"],
    )
    for status, count in sorted(figures.candidates_by_status.items()):
        candidates.add_metric([status], count)
    yield candidates
    outbox = GaugeMetricFamily(
        "exam_review_outbox_rows", "SMS and webhook rows by kind and status.", labels=["kind", "status"]
    )
    for (kind, status), count in sorted(figures.outbox_by_status.items()):
        outbox.add_metric([kind, status], count)
    yield outbox
    yield GaugeMetricFamily(
        "exam_review_outbox_oldest_due_seconds",
        "How long the oldest queued SMS or webhook has been due; 0 when none is waiting.",
        value=figures.outbox_oldest_due_seconds,
    )
    yield GaugeMetricFamily(
        "exam_review_live_claims",
        "Submitted candidates an examiner is reviewing now (a live review claim).",
        value=figures.live_claims,
    )

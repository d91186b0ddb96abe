"""Each GraphQL operation, seen from outside: its metrics, its trace, and errors that carry its id."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.graphql import OperationType

from core.context import Context
from core.trace import Outcome

log = logging.getLogger("exam_review.errors")

INTERNAL_ERROR_CODE = "INTERNAL_SERVER_ERROR"


def _context(extension: SchemaExtension) -> Context | None:
    context = extension.execution_context.context
    return context if isinstance(context, Context) else None


class MaskWithRequestId(MaskErrors):
    """Masks unexpected errors, keeping the request id so a screenshot leads to the log line."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        context = _context(self)
        extensions: dict[str, Any] = {"code": INTERNAL_ERROR_CODE}
        if context is not None:
            extensions["requestId"] = context.trace.request_id
        return GraphQLError(
            message=self.error_message,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            original_error=None,
            extensions=extensions,
        )


def log_unexpected(errors: list[GraphQLError], context: Any) -> None:
    """One error line per unexpected failure, with its traceback and the request id."""
    request_id = context.trace.request_id if isinstance(context, Context) else "-"
    for error in errors:
        log.error(
            "request %s failed: %s", request_id, error.message, exc_info=error.original_error
        )


class ObserveOperation(SchemaExtension):
    """Names the request's trace after its operation, counts and times it, and tracks live
    subscriptions. Listed after MaskErrors, so it sees the errors before they are masked."""

    def __init__(self, should_mask: Callable[[GraphQLError], bool]) -> None:
        self.should_mask = should_mask
        self._live_label: str | None = None

    def on_execute(self) -> Iterator[None]:
        context = _context(self)
        if context is not None:
            self._label(context)
            if context.trace.operation_type == OperationType.SUBSCRIPTION.value:
                self._live_label = context.trace.operation
                context.services.metrics.live_subscriptions.labels(self._live_label).inc()
        yield

    def on_operation(self) -> Iterator[None]:
        context = _context(self)
        # Over HTTP the clock started when the request arrived (body and sign-in included).
        over_socket = context is None or isinstance(context.request, WebSocket)
        started = time.perf_counter() if over_socket or context is None else context.trace.started
        try:
            yield
        finally:
            if context is not None:
                if self._live_label is not None:
                    context.services.metrics.live_subscriptions.labels(self._live_label).dec()
                self._finish(context, time.perf_counter() - started)

    def _label(self, context: Context) -> None:
        execution = self.execution_context
        context.trace.operation = context.services.metrics.operation_label(execution.operation_name)
        try:
            context.trace.operation_type = execution.operation_type.value
        except Exception:  # no document, or no operation of that name
            context.trace.operation_type = "unknown"

    def _finish(self, context: Context, seconds: float) -> None:
        trace = context.trace
        if trace.operation is None or trace.operation_type is None:
            self._label(context)  # refused before execution: parse or validation errors
        result = self.execution_context.result
        errors = list(getattr(result, "errors", None) or self.execution_context.pre_execution_errors or [])
        unexpected = [e for e in errors if self.should_mask(e)]
        if unexpected:
            trace.outcome = Outcome.SERVER_ERROR
            original = unexpected[0].original_error
            trace.error = f"{type(original).__name__}: {original}"[:300] if original else unexpected[0].message
        elif errors:
            trace.outcome = Outcome.CLIENT_ERROR
        elif trace.rejected:
            trace.outcome = Outcome.REJECTED
        else:
            trace.outcome = Outcome.OK
        metrics = context.services.metrics
        operation, kind = trace.operation or "anonymous", trace.operation_type or "unknown"
        metrics.graphql_requests.labels(operation, kind, trace.outcome.value).inc()
        if kind != OperationType.SUBSCRIPTION.value:
            metrics.graphql_duration.labels(operation, kind).observe(seconds)

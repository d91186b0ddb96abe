"""The app factory: settings in, a Starlette app out; nothing global."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError, parse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from tortoise.context import TortoiseContext

from core.context import Context, Services, Viewer
from core.metrics import Metrics
from core.security import check_signed_path, staff_id_of
from core.settings import Settings
from core.trace import RequestTrace
from models import Attachment, MaterialCategory
from pubsub import open_broker
from resolvers.auth import resolve_viewer
from resolvers.connections import socket_viewer
from resolvers.picture_access import PictureAccessRecorder
from schema import build_schema
from server.middleware import BindDatabase, GuardRequestBody
from server.observability import (
    DatabaseFiguresCache,
    RequestLog,
    metrics_response,
    readiness_response,
    trace_of,
)
from server.sms.sender import running_sender
from storage import open_store
from storage.base import ObjectMissing, StoreUnavailable
from storage.measures import MEASURE_SIDE, NEAR_WHITE

CLIENT_DIR = Path(__file__).resolve().parent.parent / "client"
_EMPTY_TABS = '<script id="examiner-tabs" type="application/json">[]</script>'


def _tab_order(path: Path) -> tuple[int, str]:
    """Files are numbered `1-login.graphql`, `2-queue.graphql`, …: 10 comes after 9."""
    number = path.name.split("-", 1)[0]
    return (int(number) if number.isdigit() else 1_000_000, path.name)


def examiner_graphiql_html(client_dir: Path) -> str | None:
    """GraphiQL on vendored assets, with client/examiner/*.graphql as ready tabs."""
    page = client_dir / "examiner" / "graphiql.html"
    if not page.is_file():
        return None
    tabs = []
    for path in sorted((client_dir / "examiner").glob("*.graphql"), key=_tab_order):
        query = path.read_text(encoding="utf-8")
        # A `# variables: {...}` line pre-fills the tab's variables editor.
        variables = next(
            (line.split(":", 1)[1].strip() for line in query.splitlines()
             if line.startswith("# variables:")),
            None,
        )
        tabs.append({"query": query, "variables": variables})
    # "<" escaped, so no operation text can close the script element early.
    payload = json.dumps(tabs, ensure_ascii=False).replace("<", "\\u003c")
    html = page.read_text(encoding="utf-8")
    return html.replace(_EMPTY_TABS, _EMPTY_TABS.replace("[]", payload))


# Every open page sends the same subscription, and after a worker restart thousands send it at
# once: a short document that parsed is remembered (a bounded LRU; a refusal raises, and
# lru_cache never remembers a call that raised).
_REMEMBERED_MAX_CHARS = 4096


@functools.lru_cache(maxsize=256)
def _parses_remembered(query: str, max_tokens: int) -> None:
    parse(query, max_tokens=max_tokens)


def _check_parses(query: str, max_tokens: int) -> None:
    """Raises GraphQLError when the document does not parse within max_tokens."""
    if len(query) <= _REMEMBERED_MAX_CHARS:
        _parses_remembered(query, max_tokens)
    else:
        parse(query, max_tokens=max_tokens)


class ReviewTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, refusing malformed messages with 4400.

    It trusts a message's shape: a JSON list, or a subscribe payload that is not an object,
    crashed the socket's task instead of closing it as the protocol says.
    """

    async def handle_message(self, message: Any) -> None:
        payload = message.get("payload") if isinstance(message, dict) else None
        if not isinstance(message, dict) or (
            message.get("type") == "subscribe"
            and not (
                isinstance(payload, dict)
                and isinstance(payload.get("query"), str)
                and isinstance(payload.get("variables") or {}, dict)
            )
        ):
            await self.handle_invalid_message("Failed to parse message")
            return
        if message.get("type") == "subscribe" and self.connection_acknowledged:
            # A syntax error (or a token bomb) escaped Strawberry's stream as a crashed task.
            max_tokens = self.view.services.settings.max_query_tokens  # type: ignore[attr-defined]
            try:
                _check_parses(payload["query"], max_tokens)  # type: ignore[index]
            except GraphQLError as error:
                await self.send_message(
                    {"id": str(message.get("id")), "type": "error", "payload": [error.formatted]}
                )
                return
        await super().handle_message(message)  # type: ignore[arg-type]


class ReviewGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, and sign-in on the socket's connection_init."""

    graphql_transport_ws_handler_class = ReviewTransportWSHandler

    def __init__(self, services: Services) -> None:
        super().__init__(
            build_schema(services.settings),
            graphql_ide="graphiql",
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            multipart_uploads_enabled=True,
            keep_alive=True,
            keep_alive_interval=20,
        )
        self.services = services
        # The examiner operations are files of the release: read them once, not per page view.
        self.examiner_page = examiner_graphiql_html(CLIENT_DIR)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        trace = trace_of(request.scope)
        if isinstance(request, WebSocket):
            return Context(services=self.services, request=request, response=response, trace=trace)
        viewer, bad_token = await resolve_viewer(
            self.services, request.headers.get("authorization")
        )
        _trace_viewer(trace, viewer)
        return Context(
            services=self.services,
            request=request,
            response=response,
            viewer=viewer,
            bad_token=bad_token,
            trace=trace,
        )

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        authorization = params.get("Authorization") or params.get("authorization")
        viewer = await socket_viewer(
            self.services, authorization if isinstance(authorization, str) else None
        )
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer
        _trace_viewer(context.trace, viewer)

    def decode_json(self, data: str | bytes) -> object:
        # Invalid UTF-8 and nesting deep enough to exhaust the stack are bad JSON, not a 500.
        try:
            return json.loads(data)
        except (RecursionError, UnicodeDecodeError) as exc:
            raise json.JSONDecodeError(str(exc), "", 0) from None

    async def parse_http_body(self, request: Any) -> Any:
        # Strawberry assumes the JSON body (or the multipart `map`) is an object; anything
        # else (a string, a number, null, a list as `map`) is the client's mistake: a 400.
        try:
            return await super().parse_http_body(request)
        except (AttributeError, TypeError) as exc:
            raise HTTPException(400, "请求内容不是有效的 GraphQL 请求。") from exc

    async def render_graphql_ide(self, request: Request) -> Response:
        if self.examiner_page is None:
            return await super().render_graphql_ide(request)
        return HTMLResponse(self.examiner_page)


def _trace_viewer(trace: RequestTrace, viewer: Viewer | None) -> None:
    """Who is asking, for the request's log line."""
    if viewer is not None:
        trace.viewer_role = viewer.role.value
        account = viewer.staff or viewer.candidate
        trace.viewer_id = account.id if account is not None else None


def _store_unavailable() -> Response:
    return Response(
        "图片存储暂时不可用，请稍后重试。", 503, media_type="text/plain", headers={"Retry-After": "5"}
    )


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _security_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


# Collector generations: gen0 every 10,000 new container objects instead of 700. Each open page
# holds a few hundred objects; opening thousands at once (a worker restart) spent about a third
# of the worker's time in the collector (py-spy --native), rescanning objects that stay.
GC_THRESHOLD = (10_000, 10, 10)


def tune_garbage_collector() -> None:
    """Once started: what start-up made (modules, the schema) is never rescanned, and young
    collections run less often. Measured by bench/live.py's reconnect storm."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLD)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How uvicorn serves the app: the same for `exam-review serve` and the tests."""
    return {
        "ws": "websockets-sansio",
        # A WebSocket frame gets the same cap as an HTTP body (uvicorn's default is 16 MiB).
        "ws_max_size": settings.max_body_bytes,
        "proxy_headers": True,
        "timeout_graceful_shutdown": 10,
        # RequestLog writes one JSON line per request instead.
        "access_log": False,
    }


def app_from_environment() -> Starlette:
    """uvicorn's factory in `exam-review serve`: the settings the CLI read before anything else."""
    return create_app(Settings.for_process())


def create_app(settings: Settings) -> Starlette:
    services = Services(
        settings=settings,
        store=open_store(settings.storage_url),
        broker=open_broker(settings.broker_url),
        metrics=Metrics(settings.metrics_dir),
    )
    holder: dict[str, TortoiseContext] = {}
    access_log = PictureAccessRecorder(
        settings.access_log_flush_seconds, settings.access_log_batch
    )
    figures = DatabaseFiguresCache(settings.metrics_cache_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        orm = TortoiseContext()
        with orm:  # init resolves connections through the current context
            await orm.init(config=settings.tortoise_config())
        holder["orm"] = orm
        await services.store.start()
        await services.broker.start()
        with orm:
            access_log.start()  # its task keeps the ORM context current here
        tune_garbage_collector()
        try:
            async with running_sender(settings, orm):
                yield
        finally:
            with orm:
                await access_log.close()
            await services.broker.close()
            await services.store.close()
            holder.pop("orm", None)
            with orm:
                await orm.close_connections()
            services.metrics.close()

    async def picture(request: Request) -> Response:
        attachment_id = request.path_params["attachment_id"]
        variant = request.path_params["variant"]
        viewer = request.query_params.get("by")
        ok = check_signed_path(
            settings.secret_key,
            request.url.path,
            request.query_params.get("exp"),
            request.query_params.get("sig"),
            viewer=viewer,
        )
        if not ok or variant not in ("original", "thumbnail"):
            return _security_headers(Response("链接无效或已过期。", 403, media_type="text/plain"))
        row = await Attachment.get_or_none(id=attachment_id)
        if row is None:
            return _security_headers(Response("图片不存在。", 404, media_type="text/plain"))
        key = row.storage_key if variant == "original" else row.thumbnail_key
        try:
            data = await services.store.get(key)
        except ObjectMissing:
            return _security_headers(Response("图片不存在。", 404, media_type="text/plain"))
        except StoreUnavailable:
            return _security_headers(_store_unavailable())
        staff_id = staff_id_of(viewer) if variant == "original" else None
        logged = staff_id is not None
        if staff_id is not None:
            access_log.record(staff_id, row.candidate_id, row.id, row.category_id)
        media_type = row.content_type if variant == "original" else "image/jpeg"
        response = Response(data, media_type=media_type)
        # A logged opening is never answered from the browser's cache: each one reaches the log.
        response.headers["Cache-Control"] = (
            "private, no-store" if logged else f"private, max-age={settings.picture_url_ttl_seconds}"
        )
        response.headers["Content-Disposition"] = "inline"
        if variant == "original":
            response.headers["ETag"] = f'"{row.sha256}"'
        return _security_headers(response)

    async def example(request: Request) -> Response:
        category = await MaterialCategory.get_or_none(id=request.path_params["category_id"])
        if category is None or not category.example_key:
            return _security_headers(Response("示例图片不存在。", 404, media_type="text/plain"))
        try:
            data = await services.store.get(category.example_key)
        except ObjectMissing:
            return _security_headers(Response("示例图片不存在。", 404, media_type="text/plain"))
        except StoreUnavailable:
            return _security_headers(_store_unavailable())
        response = Response(data, media_type=category.example_content_type or "image/jpeg")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return _security_headers(response)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(request: Request) -> Response:
        return await readiness_response(services)

    async def metrics(request: Request) -> Response:
        return await metrics_response(request, services, figures)

    async def picture_checks(request: Request) -> Response:
        # The candidate page warns before upload with the very thresholds the service uses.
        limits = dataclasses.asdict(settings.quality_thresholds())
        thresholds = {_camel(name): value for name, value in limits.items()}
        return JSONResponse(
            {"measureSide": MEASURE_SIDE, "nearWhite": NEAR_WHITE, "thresholds": thresholds},
            headers={"Cache-Control": "no-cache"},
        )

    graphql = ReviewGraphQL(services)
    routes = [
        Route("/healthz", health),
        Route("/readyz", ready),
        Route("/metrics", metrics),
        Route("/picture-checks.json", picture_checks),
        Route("/pictures/{attachment_id:uuid}/{variant}", picture),
        Route("/examples/{category_id:int}", example),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    if CLIENT_DIR.is_dir():
        app.router.routes.append(Mount("/", StaticFiles(directory=CLIENT_DIR, html=True)))
    app.state.services = services
    app.state.orm = holder
    app.state.access_log = access_log
    app.add_middleware(
        GuardRequestBody,
        max_body_bytes=settings.max_body_bytes,
        body_read_timeout=settings.body_read_timeout_seconds,
    )
    app.add_middleware(BindDatabase, holder=holder)
    app.add_middleware(RequestLog, services=services)  # outermost: every answer gets its id
    return app


"""The app factory: settings in, a Starlette app out; nothing global."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from tortoise.context import TortoiseContext

from models import Attachment, MaterialCategory
from resolvers.auth import resolve_viewer
from schema import build_schema
from server.context import Context, Services
from server.middleware import BindDatabase, GuardRequestBody
from server.pubsub import open_broker
from server.security import check_signed_path
from server.settings import Settings
from storage import open_store
from storage.base import ObjectMissing

CLIENT_DIR = Path(__file__).resolve().parent.parent / "client"


class ReviewGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context, and sign-in on the socket's connection_init."""

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

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if isinstance(request, WebSocket):
            return Context(services=self.services, request=request, response=response)
        viewer, bad_token = await resolve_viewer(
            self.services, request.headers.get("authorization")
        )
        return Context(
            services=self.services,
            request=request,
            response=response,
            viewer=viewer,
            bad_token=bad_token,
        )

    async def on_ws_connect(self, context: Context) -> None:
        params = context.connection_params or {}
        authorization = params.get("Authorization") or params.get("authorization")
        viewer, _ = await resolve_viewer(
            self.services, authorization if isinstance(authorization, str) else None
        )
        if viewer is None:
            raise ConnectionRejectionError()
        context.viewer = viewer


def _security_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    services = Services(
        settings=settings,
        store=open_store(settings.storage_url),
        broker=open_broker(settings.broker_url),
    )
    holder: dict[str, TortoiseContext] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        orm = TortoiseContext()
        with orm:  # init resolves connections through the current context
            await orm.init(config=settings.tortoise_config())
        holder["orm"] = orm
        await services.store.start()
        await services.broker.start()
        try:
            yield
        finally:
            await services.broker.close()
            await services.store.close()
            holder.pop("orm", None)
            with orm:
                await orm.close_connections()

    async def picture(request: Request) -> Response:
        attachment_id = request.path_params["attachment_id"]
        variant = request.path_params["variant"]
        ok = check_signed_path(
            settings.secret_key,
            request.url.path,
            request.query_params.get("exp"),
            request.query_params.get("sig"),
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
        media_type = row.content_type if variant == "original" else "image/jpeg"
        response = Response(data, media_type=media_type)
        response.headers["Cache-Control"] = f"private, max-age={settings.picture_url_ttl_seconds}"
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
        response = Response(data, media_type=category.example_content_type or "image/jpeg")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return _security_headers(response)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    graphql = ReviewGraphQL(services)
    routes = [
        Route("/healthz", health),
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
    app.add_middleware(GuardRequestBody, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(BindDatabase, holder=holder)
    return app


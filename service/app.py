"""The app factory. ``create_app(settings)`` builds the FastAPI app cheaply; the lifespan
opens the pool and loads the searcher and the model. Tests may pass a small ``searcher`` or
``generator`` of their own (Postgres stays real)."""

from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool

from core.settings import Settings
from service.errors import UnexpectedErrorMiddleware, error_responses, install_error_handlers
from service.limits import BodyLimitMiddleware
from service.metrics import Metrics, MetricsMiddleware
from service.openai_errors import install_openai_errors
from service.routes import admin, feedback, generate, logs, openai, ops, search
from service.services import open_services
from service.web.routes import install_web


def create_app(settings: Settings, *, searcher=None, generator=None) -> FastAPI:
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        services = await run_in_threadpool(open_services, settings, metrics, searcher=searcher, generator=generator)
        app.state.services = services
        try:
            yield
        finally:
            await run_in_threadpool(services.close)

    app = FastAPI(
        title="rag",
        summary="Grounded answers with citations from your own documents.",
        version="1",
        lifespan=lifespan,
        responses=error_responses(500),
    )
    install_error_handlers(app)
    install_openai_errors(app)
    app.add_middleware(UnexpectedErrorMiddleware)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    for module in (generate, search, feedback, logs, ops, admin, openai):
        app.include_router(module.router)
    install_web(app)
    app.openapi = partial(openapi_with_limits, app, settings)
    return app


def openapi_with_limits(app: FastAPI, settings: Settings) -> dict:
    """The OpenAPI schema with the limits that come from settings written into it."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        for model in ("SearchRequest", "GenerateRequest"):
            properties = schema["components"]["schemas"][model]["properties"]
            next(t for t in properties["k"]["anyOf"] if t["type"] == "integer")["maximum"] = settings.max_k
            properties["query"]["maxLength"] = settings.max_query_chars
        app.openapi_schema = schema
    return app.openapi_schema

"""The app factory. ``create_app(settings)`` builds the FastAPI app cheaply; the lifespan
opens the pool and loads the searcher and the model. Tests may pass a small ``searcher`` or
``generator`` of their own (Postgres stays real)."""

from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from rag.settings import Settings
from service.errors import error_responses, install_error_handlers
from service.metrics import Metrics, MetricsMiddleware
from service.routes import feedback, generate, logs, ops, search
from service.services import open_services


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
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    for module in (generate, search, feedback, logs, ops):
        app.include_router(module.router)
    return app

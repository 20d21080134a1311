"""Operations routes, no key needed: ``GET /health`` (checks the database) and
``GET /metrics`` (Prometheus text format)."""

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from core.errors import DatabaseError
from core.migrate import schema_version
from service.deps import ServicesDep
from service.errors import error_responses
from service.schemas import HealthResponse
from service.services import Services

router = APIRouter(tags=["operations"])


def _schema_version(services: Services) -> int:
    try:
        with services.pool.connection() as conn:
            return schema_version(conn)
    except Exception as exc:  # any failure to reach the database is the answer here
        raise DatabaseError(f"database check failed: {exc}; check RAG_DATABASE_URL or the embedded server.") from exc


@router.get("/health", response_model=HealthResponse, responses=error_responses(503))
async def health(services: ServicesDep) -> HealthResponse:
    """Liveness and database check; no API key."""
    return HealthResponse(schema_version=await run_in_threadpool(_schema_version, services))


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format."}},
)
async def metrics(services: ServicesDep) -> Response:
    """Request counts and latency per route, retrieval and generation time, tokens; no API key."""
    return Response(services.metrics.render(), media_type=services.metrics.content_type)

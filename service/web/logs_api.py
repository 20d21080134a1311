"""The Logs page's JSON routes, admin keys only (403 otherwise): ``GET /web/api/logs`` (recent
exchanges, filterable), ``GET /web/api/logs/{log_id}`` (one in full) and
``POST /web/api/logs/{log_id}/replay`` (answered again with the recorded versions, in the
threadpool, writing no log row)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from service.deps import ServicesDep
from service.schemas import BIGINT_MAX
from service.web.access import AdminKey
from service.web.logs import LogFilter, log_detail, recent_logs
from service.web.replay import replay

router = APIRouter(include_in_schema=False)
LogId = Annotated[int, PathParam(ge=1, le=BIGINT_MAX)]
Rating = Literal["rated", "unrated", "1", "2", "3", "4", "5"]


@router.get("/web/api/logs")
def logs(
    services: ServicesDep,
    key: AdminKey,
    rating: Annotated[Rating | None, Query(description="rated, unrated, or a score one rating gave")] = None,
    refused: bool | None = None,
    no_valid_citation: bool | None = None,
    before: Annotated[int | None, Query(ge=1, le=BIGINT_MAX, description="Only logs older than this id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict:
    """The newest exchanges passing the filters, newest first, with their ratings."""
    which = LogFilter(rating, refused, no_valid_citation, before, limit + 1)
    with services.pool.connection() as conn:
        found = recent_logs(conn, which)
    return {"logs": found[:limit], "more": len(found) > limit}


@router.get("/web/api/logs/{log_id}")
def log(log_id: LogId, services: ServicesDep, key: AdminKey) -> dict:
    """One exchange: prompt, answer, passages with scores and text, model, versions, timings, feedback."""
    with services.pool.connection() as conn:
        return log_detail(conn, log_id)


@router.post("/web/api/logs/{log_id}/replay")
def replay_log_route(log_id: LogId, services: ServicesDep, key: AdminKey) -> dict:
    """The exchange answered again with its recorded versions (and as served now, when a part
    changed); FastAPI runs this in its threadpool."""
    return replay(services, log_id)

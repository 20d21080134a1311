"""``GET /logs/{log_id}``: one generation log with its passages and feedback (admin only)."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from answering.export import log_record
from service.access import Action
from service.deps import ServicesDep, require
from service.errors import error_responses
from service.schemas import BIGINT_MAX, LogRecord

router = APIRouter(tags=["logs"])


@router.get(
    "/logs/{log_id}",
    response_model=LogRecord,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Depends(require(Action.logs))],
)
def read_log(log_id: Annotated[int, Path(ge=1, le=BIGINT_MAX)], services: ServicesDep) -> LogRecord:
    """The log row of a generate request, as stored. Role: admin."""
    with services.pool.connection() as conn:
        return LogRecord.model_validate(log_record(conn, log_id))

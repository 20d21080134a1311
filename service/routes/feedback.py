"""``POST /feedback``: a 1..5 rating (and comment) of one generate response, by its log id."""

from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends

from core.errors import NotFoundError
from service.access import Action
from service.deps import ServicesDep, require
from service.errors import error_responses
from service.keys import ApiKey
from service.schemas import FeedbackRequest, FeedbackResponse

router = APIRouter(tags=["feedback"])


def store_feedback(conn: psycopg.Connection, request: FeedbackRequest, key_id: int) -> int:
    """Insert one rating and return its id; NotFoundError for an unknown log id."""
    try:
        with conn.transaction():
            return conn.execute(
                "INSERT INTO feedback (log_id, score, comment, key_id) VALUES (%s, %s, %s, %s) RETURNING id",
                (request.log_id, request.score, request.comment, key_id),
            ).fetchone()[0]
    except psycopg.errors.ForeignKeyViolation:
        raise NotFoundError(
            f"log_id: no generation log {request.log_id}; send the log_id of a /generate response."
        ) from None


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    responses=error_responses(400, 401, 403, 404, 422, 429),
)
def feedback(
    request: FeedbackRequest, services: ServicesDep, key: Annotated[ApiKey, Depends(require(Action.feedback))]
) -> FeedbackResponse:
    """Rate a generate response. Roles: user, admin."""
    with services.pool.connection() as conn:
        feedback_id = store_feedback(conn, request, key.id)
    return FeedbackResponse(id=feedback_id, log_id=request.log_id, score=request.score)

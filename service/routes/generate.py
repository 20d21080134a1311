"""``POST /generate``: a grounded answer with citations, as JSON or (``"stream": true``) as
server-sent events: ``token`` events with the answer's pieces, then one ``done`` event carrying
the whole response (citations, passages, log id), or an ``error`` event."""

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from answering.log import owned_by_another_key, stored_session_id
from answering.pipeline import AnswerRequest
from core.errors import NotFoundError
from service.access import Action, authorized_filters
from service.deps import ServicesDep, require
from service.errors import error_responses
from service.keys import ApiKey
from service.limits import checked_filter_lists, checked_k, checked_query
from service.schemas import GenerateRequest, GenerateResponse, TokenEvent
from service.services import Services
from service.streaming import sse, sse_events, threaded_items

router = APIRouter(tags=["generate"])

_STREAM_DOC = {
    "description": 'An answer: JSON, or with `"stream": true` a `text/event-stream` of `token` events '
    "(`TokenEvent`) ending with one `done` event (`GenerateResponse`) or an `error` event (`ErrorBody`).",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


@router.post(
    "/generate",
    response_model=GenerateResponse,
    responses={200: _STREAM_DOC, **error_responses(400, 401, 403, 422, 429, 503)},
)
def generate(
    request: GenerateRequest, services: ServicesDep, key: Annotated[ApiKey, Depends(require(Action.generate))]
) -> Any:
    """Answer the query from retrieved passages, citing them as [n]. Roles: user, admin."""
    answer_request = answer_request_for(request, services, key)
    if request.stream:
        items = threaded_items(partial(services.answerer.stream, answer_request), services.answer_slots)
        return StreamingResponse(
            sse_events(items, partial(_encode, services)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    with services.answer_slots:
        result = services.answerer.answer(answer_request)
    return observed_response(services, result)


def answer_request_for(request: GenerateRequest, services: Services, key: ApiKey) -> AnswerRequest:
    """The pipeline request for ``request``, checked against the limits, the key's collections and
    the session's owner (shared with ``/v1/chat/completions``)."""
    query, k = checked_query(request.query, services.settings), checked_k(request.k, services.settings)
    checked_filter_lists(request.filters, services.settings)
    with services.pool.connection() as conn:
        filters = authorized_filters(conn, key, request.filters, request.collection)
        if request.session_id and owned_by_another_key(
            conn, stored_session_id(request.session_id, redact=services.settings.redact_pii), key.id
        ):
            raise NotFoundError("session_id: this key has no session with that id; omit session_id to start one.")
    return AnswerRequest(
        query=query,
        k=k,
        filters=filters,
        session_id=request.session_id,
        max_new_tokens=request.max_new_tokens,
        key_id=key.id,
    )


def observed_response(services: Services, result: Any) -> GenerateResponse:
    """``result`` as the response model, its timings and tokens counted in the metrics."""
    response = GenerateResponse.model_validate(result.to_json())
    services.metrics.observe_answer(
        retrieve_ms=response.timings.retrieve_ms,
        generate_ms=response.timings.generate_ms,
        prompt_tokens=response.tokens.prompt,
        completion_tokens=response.tokens.completion,
    )
    return response


def _encode(services: Services, item: Any) -> bytes:
    if isinstance(item, str):
        return sse("token", TokenEvent(text=item).model_dump())
    return sse("done", observed_response(services, item).model_dump(mode="json"))

"""Every error leaves the service as ``{"error": {"code", "message"}}`` (plus ``error_id``
for a 500, the id under which the server logged the stack trace). No stack trace ever
reaches a client, and FastAPI's default 422 shape is replaced by ours."""

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import ConfigError, DatabaseError, IndexIntegrityError, InputError, NotFoundError, RagError

log = logging.getLogger("service")

_RAG_STATUS = {InputError: 422, NotFoundError: 404, DatabaseError: 503, IndexIntegrityError: 503, ConfigError: 500}
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "unsupported_media_type"}

# How to fix the most common pydantic complaints, by error type.
_FIXES = {
    "missing": "add it to the JSON body",
    "extra_forbidden": "remove it; /docs lists the accepted fields",
    "string_too_short": "send a non-empty string",
    "string_type": "send a JSON string",
    "string_unicode": "remove the lone UTF-16 surrogate (\\ud800-\\udfff), which cannot be stored",
    "int_type": "send a whole number",
    "int_parsing": "send a whole number",
    "bool_type": "send true or false",
    "dict_type": "send a JSON object",
    "model_attributes_type": "send a JSON object with the header Content-Type: application/json",
    "greater_than_equal": "raise the value",
    "less_than_equal": "lower the value",
    "literal_error": "use one of the listed values",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_input, unauthorized, rate_limited.")
    message: str = Field(description="What was wrong, naming the field, and how to fix it.")
    error_id: str | None = Field(None, description="Only on 500: the id of the server log entry.")


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error with its HTTP status, raised by routes and dependencies."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(status: int, code: str, message: str, *, error_id: str | None = None, headers=None) -> JSONResponse:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, error_id=error_id))
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def describe_validation_errors(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """(code, message) for pydantic's errors: the field, what is wrong, and the fix."""
    if any(e["type"] == "json_invalid" for e in errors):
        return "malformed_json", 'the request body is not valid JSON; send a JSON object such as {"query": "..."}.'
    parts = []
    for e in errors:
        field = ".".join(str(p) for p in e["loc"][1:]) or "body"  # loc[0]: body, path or query
        fix = _FIXES.get(e["type"], "fix the value and retry")
        parts.append(f"{field}: {e['msg'][0].lower()}{e['msg'][1:]}; {fix}")
    return "invalid_input", ". ".join(parts) + "."


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        code, message = describe_validation_errors(list(exc.errors()))
        return error_response(400 if code == "malformed_json" else 422, code, message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = f"{exc.detail} ({request.method} {request.url.path}); /docs lists the routes and their methods."
        return error_response(exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(RagError)
    async def _rag(request: Request, exc: RagError):
        status = next((s for cls, s in _RAG_STATUS.items() if isinstance(exc, cls)), 500)
        if status >= 500:
            log.error("%s on %s %s: %s", exc.code, request.method, request.url.path, exc)
        return error_response(status, exc.code, str(exc))


class UnexpectedErrorMiddleware:
    """Turns an unexpected exception into the JSON 500 with an ``error_id`` and ends the request
    there. Starlette's own catch-all sends the 500 and then re-raises, and uvicorn answers an
    exception after a sent response by closing the socket: the client's next request on that
    keep-alive connection was reset."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            error_id = uuid.uuid4().hex[:12]
            log.error("error_id=%s on %s %s", error_id, scope["method"], scope["path"], exc_info=exc)
            if started:  # the head is gone: nothing valid can follow, so the connection must end
                raise
            response = error_response(
                500,
                "internal_error",
                f"unexpected server error; report error id {error_id} to the operator.",
                error_id=error_id,
            )
            await response(scope, receive, send)


_DESCRIPTIONS = {
    400: "Malformed JSON body.",
    401: "Missing, unknown or revoked API key.",
    403: "The key's role (or collection list) does not allow this.",
    404: "No such resource.",
    422: "Invalid input: the message names the field and the fix.",
    429: "Over the per-key rate limit; see the Retry-After header.",
    500: "Unexpected failure; the body carries an error_id found in the server log.",
    503: "The database is unavailable.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses=`` entries for these error statuses, all with ``ErrorBody``."""
    return {status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses}

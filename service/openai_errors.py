"""OpenAI's error shape under ``/v1``: ``{"error": {"message", "type", "code", "param"}}``.

``install_openai_errors`` wraps the app's own exception handlers (``service.errors``): a request
under ``/v1/`` gets their status, code and message reshaped, and a 422 becomes OpenAI's 400
(``invalid_request_error``); every other path keeps the service's ``{"error": {"code",
"message"}}``. The two middlewares that answer by themselves (the 413 of the body limit, the 500
with its ``error_id``) keep the service's shape everywhere: both carry ``error.message`` and
``error.code``, which is what OpenAI clients read."""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import RagError
from service.errors import ApiError, error_responses

PREFIX = "/v1/"
_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}
_KEPT_HEADERS = ("retry-after", "www-authenticate")


class OpenAIErrorDetail(BaseModel):
    message: str = Field(description="What was wrong, naming the field, and how to fix it.")
    type: str = Field(description="invalid_request_error, authentication_error, permission_error, rate_limit_error…")
    code: str = Field(description="The service's stable code: invalid_input, model_not_found, rate_limited…")
    param: str | None = None


class OpenAIErrorBody(BaseModel):
    error: OpenAIErrorDetail


def error_type(status: int) -> str:
    """OpenAI's error type for an HTTP status."""
    return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def openai_error(status: int, code: str, message: str) -> dict[str, Any]:
    """The body of an OpenAI-shaped error."""
    detail = OpenAIErrorDetail(message=message, type=error_type(status), code=code)
    return OpenAIErrorBody(error=detail).model_dump()


def openai_error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses=`` entries for these statuses, with ``OpenAIErrorBody``, and a
    ``4XX`` one for the rest (which also keeps FastAPI from documenting its own 422 shape)."""
    entries = {status: entry["description"] for status, entry in error_responses(*statuses).items()}
    entries["4XX"] = "Another client error (405 method, 413 body too large), in the same shape."
    return {status: {"model": OpenAIErrorBody, "description": text} for status, text in entries.items()}


def reshaped(response: JSONResponse) -> JSONResponse:
    """The service's error response in OpenAI's shape (a 422 as a 400), its headers kept."""
    error = json.loads(response.body)["error"]
    status = 400 if response.status_code == 422 else response.status_code
    headers = {name: value for name, value in response.headers.items() if name in _KEPT_HEADERS}
    return JSONResponse(openai_error(status, error["code"], error["message"]), status_code=status, headers=headers)


def install_openai_errors(app: FastAPI) -> None:
    """Wrap the handlers ``service.errors.install_error_handlers`` installed (call it after)."""
    for exc_class in (ApiError, RequestValidationError, StarletteHTTPException, RagError):
        handler = app.exception_handlers[exc_class]

        async def scoped(request: Request, exc: Exception, handler=handler) -> JSONResponse:
            response = await handler(request, exc)
            return reshaped(response) if request.url.path.startswith(PREFIX) else response

        app.exception_handlers[exc_class] = scoped

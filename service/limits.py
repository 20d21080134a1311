"""The request limits that come from settings: the body size (``BodyLimitMiddleware``, before
anything reads the body), then, after pydantic's type checks, query, k and filter lists."""

import unicodedata
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.errors import InputError
from core.settings import Settings
from service.errors import error_response

# Format (Cf: zero-width space, joiners, BOM), control (Cc) and separator characters carry no words.
_WORDLESS = ("Cf", "Cc", "Zs", "Zl", "Zp")


def is_blank(text: str) -> bool:
    """True when ``text`` holds only whitespace, zero-width or control characters."""
    return all(unicodedata.category(ch) in _WORDLESS for ch in text)


def checked_query(query: str, settings: Settings) -> str:
    """The query stripped of outer whitespace; InputError when empty or too long."""
    query = query.strip()
    if is_blank(query):
        raise InputError("query: must not be blank; send the question as a non-empty string.")
    if len(query) > settings.max_query_chars:
        raise InputError(
            f"query: {len(query)} characters is over the limit of {settings.max_query_chars}; "
            "shorten it (the limit is RAG_MAX_QUERY_CHARS)."
        )
    return query


def checked_k(k: int | None, settings: Settings) -> int:
    """``k``, or the default when unset; InputError outside 1..max_k."""
    if k is None:
        return settings.default_k
    if not 1 <= k <= settings.max_k:
        raise InputError(f"k: {k} is out of range; send a whole number from 1 to {settings.max_k}.")
    return k


def checked_filter_lists(filters: dict[str, Any] | None, settings: Settings, path: str = "filters") -> None:
    """InputError naming the first list inside ``filters`` longer than RAG_MAX_FILTER_VALUES."""
    for key, value in (filters or {}).items():
        where = f"{path}.{key}"
        if isinstance(value, list) and len(value) > settings.max_filter_values:
            raise InputError(
                f"{where}: {len(value)} values is over the limit of {settings.max_filter_values}; "
                "send fewer (the limit is RAG_MAX_FILTER_VALUES)."
            )
        if isinstance(value, dict):
            checked_filter_lists(value, settings, where)


class BodyLimitMiddleware:
    """413 for a body over ``max_bytes``: by its Content-Length, or by counting the bytes as they
    stream in (a chunked body has no length to trust). Past the limit the app is told the client
    left, and whatever it answers to that is dropped: the 413 is the response."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.max_bytes:
            await self._too_large(scope, receive, send)
            return
        received, refused = 0, False

        async def counted_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes and not refused:
                refused = True
                await self._too_large(scope, receive, send)
            return {"type": "http.disconnect"} if refused else message

        async def send_unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted_receive, send_unless_refused)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(
            413,
            "too_large",
            f"the request body is over the limit of {self.max_bytes} bytes;"
            " send less (the limit is RAG_MAX_BODY_BYTES).",
        )
        await response(scope, receive, send)

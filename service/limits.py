"""The request limits that come from settings, checked after pydantic's type checks."""

from rag.errors import InputError
from rag.settings import Settings


def checked_query(query: str, settings: Settings) -> str:
    """The query stripped of outer whitespace; InputError when empty or too long."""
    query = query.strip()
    if not query:
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

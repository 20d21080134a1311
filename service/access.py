"""Which key may do what: the role matrix, and the collections a request may read.
Pure functions over plain data (so the matrix is tested without HTTP), and
``authorized_filters`` that checks a request's collections against the database."""

from enum import StrEnum

import psycopg

from core.errors import InputError
from retrieval.filters import Filter, collection_filter, parse_filter_json
from service.errors import ApiError
from service.keys import ApiKey, Role


class Action(StrEnum):
    search = "search"
    generate = "generate"
    feedback = "feedback"
    logs = "logs"
    delete = "delete"


ALLOWED: dict[Action, frozenset[Role]] = {
    Action.search: frozenset({Role.reader, Role.user, Role.admin}),
    Action.generate: frozenset({Role.user, Role.admin}),
    Action.feedback: frozenset({Role.user, Role.admin}),
    Action.logs: frozenset({Role.admin}),
    Action.delete: frozenset({Role.admin}),
}


def may(role: Role, action: Action) -> bool:
    return role in ALLOWED[action]


def request_filters(filters: dict | None, collection: str | None) -> list[Filter]:
    """The request's own filters (``filters`` object plus ``collection``), field names in errors."""
    try:
        parsed = parse_filter_json(filters)
    except InputError as exc:
        raise InputError(f"filters: {exc}") from None
    return parsed + ([collection_filter([collection])] if collection else [])


def named_collections(filters: list[Filter]) -> set[str]:
    return {str(v) for f in filters if f.field == "collection" for v in f.values}


def forbidden_collections(key: ApiKey, filters: list[Filter]) -> set[str]:
    """The collections the request names that the key may not read."""
    if key.collections is None:
        return set()
    return named_collections(filters) - set(key.collections)


def scoped_filters(key: ApiKey, filters: list[Filter]) -> list[Filter]:
    """The request's filters, restricted to the key's collections when it has a list."""
    return filters + ([collection_filter(key.collections)] if key.collections is not None else [])


def unknown_collections(conn: psycopg.Connection, names: set[str]) -> list[str]:
    if not names:
        return []
    known = {row[0] for row in conn.execute("SELECT name FROM collections WHERE name = ANY(%s)", (list(names),))}
    return sorted(names - known)


def authorized_filters(
    conn: psycopg.Connection, key: ApiKey, filters: dict | None, collection: str | None
) -> list[Filter]:
    """The filters a request searches with: its own, checked (422 for an unknown collection,
    403 for one the key may not read), then restricted to the key's collections."""
    parsed = request_filters(filters, collection)
    unknown = unknown_collections(conn, named_collections(parsed))
    if unknown:
        field = "collection" if collection in unknown else "filters.collection"
        raise InputError(
            f"{field}: unknown collection(s) {', '.join(map(repr, unknown))}; "
            "use an ingested collection (`rag status` lists them) or leave it out."
        )
    forbidden = forbidden_collections(key, parsed)
    if forbidden:
        raise ApiError(
            403,
            "forbidden",
            f"this key may not read collection(s) {', '.join(map(repr, sorted(forbidden)))}; "
            f"it may read: {', '.join(key.collections or [])}.",
        )
    return scoped_filters(key, parsed)

"""The Sources page's JSON routes (any valid key; each reads only the key's collections):
``GET /web/api/collections`` (with counts), ``GET /web/api/collections/{name}/sources``
(searchable) and ``GET /web/api/sources/{source_id}`` (the source's text, chunks and duplicates)."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi import Path as PathParam

from core.errors import NotFoundError
from service.deps import ServicesDep
from service.errors import ApiError
from service.keys import ApiKey
from service.schemas import BIGINT_MAX
from service.web.access import AnyKey
from service.web.sources import collection_counts, collection_sources, source_view

router = APIRouter(include_in_schema=False)


def check_readable(key: ApiKey, collection: str) -> None:
    """403 when the key has a collection list without ``collection``."""
    if key.collections is not None and collection not in key.collections:
        raise ApiError(
            403,
            "forbidden",
            f"this key may not read collection {collection!r}; it may read: {', '.join(key.collections)}.",
        )


@router.get("/web/api/collections")
def collections(services: ServicesDep, key: AnyKey) -> dict:
    """The collections the key may read, each with its source, chunk and duplicate counts."""
    with services.pool.connection() as conn:
        return {"collections": collection_counts(conn, key.collections)}


@router.get("/web/api/collections/{name}/sources")
def sources(
    name: Annotated[str, PathParam(min_length=1, max_length=200)],
    services: ServicesDep,
    key: AnyKey,
    q: Annotated[str | None, Query(max_length=200, description="Part of the uri or of the metadata.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=BIGINT_MAX)] = 0,
) -> dict:
    """A collection's sources by uri (those matching ``q``), ``limit`` from ``offset``."""
    check_readable(key, name)
    text = (q or "").strip() or None
    with services.pool.connection() as conn:
        if conn.execute("SELECT 1 FROM collections WHERE name = %s", (name,)).fetchone() is None:
            raise NotFoundError(f"collection: no collection {name!r}; the Sources page lists the ingested ones.")
        found = collection_sources(conn, name, key.collections, text=text, limit=limit + 1, offset=offset)
    return {"collection": name, "sources": found[:limit], "more": len(found) > limit, "offset": offset}


@router.get("/web/api/sources/{source_id}")
def source(source_id: Annotated[int, PathParam(ge=1, le=BIGINT_MAX)], services: ServicesDep, key: AnyKey) -> dict:
    """One source: its cleaned text (rebuilt from its chunks) in segments by chunk, its chunks
    with what each duplicates, and its near-duplicate sources."""
    with services.pool.connection() as conn:
        view = source_view(conn, source_id, key.collections)
    if view is None:
        raise NotFoundError(f"source_id: no source {source_id} that this key may read; it may have been deleted.")
    return view

"""``POST /search``: hybrid (or keyword, or vector) retrieval without generation."""

from typing import Annotated

from fastapi import APIRouter, Depends

from service.access import Action, authorized_filters
from service.deps import ServicesDep, require
from service.errors import error_responses
from service.keys import ApiKey
from service.limits import checked_filter_lists, checked_k, checked_query
from service.schemas import SearchRequest, SearchResponse

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse, responses=error_responses(400, 401, 403, 422, 429))
def search(
    request: SearchRequest, services: ServicesDep, key: Annotated[ApiKey, Depends(require(Action.search))]
) -> SearchResponse:
    """The k best passages for the query, best first. Roles: reader, user, admin."""
    query, k = checked_query(request.query, services.settings), checked_k(request.k, services.settings)
    checked_filter_lists(request.filters, services.settings)
    with services.pool.connection() as conn:
        filters = authorized_filters(conn, key, request.filters, request.collection)
    hits = services.searcher.search(query, k=k, mode=request.mode, filters=filters)
    return SearchResponse(results=[hit.to_json() for hit in hits])

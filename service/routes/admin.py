"""``POST /admin/delete``: remove a collection's sources, as ``rag delete`` does (admin only)."""

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from ingest.delete import delete_from_collection
from service.access import Action
from service.deps import ServicesDep, require
from service.errors import error_responses
from service.schemas import DeleteRequest, DeleteResponse

router = APIRouter(tags=["admin"])


@router.post(
    "/admin/delete",
    response_model=DeleteResponse,
    responses=error_responses(401, 403, 404, 422, 429),
    dependencies=[Depends(require(Action.delete))],
)
async def delete(request: DeleteRequest, services: ServicesDep) -> DeleteResponse:
    """Delete the collection's sources whose uri starts with one of ``sources`` (all of them
    when empty), with their chunks and vectors; a duplicate's copy takes a deleted original's
    place. Searches see the change at the next index refresh. Role: admin."""
    report = await run_in_threadpool(
        delete_from_collection,
        services.settings,
        request.collection,
        request.sources,
        services.searcher.embedder,
    )
    return DeleteResponse(**report.to_json())

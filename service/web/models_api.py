"""The Models page's JSON route (any valid key): ``GET /web/api/models``, the registry (each
model's kind, status, parent, figures and stored policy), the model this process serves with
the answer policy it answers under, and the model the registry would serve now (they differ
after a promotion until the service restarts). Paths on the server are shown to admin keys only."""

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from core.errors import NotFoundError
from models.registry import ModelRecord, list_models, serving_model
from service.deps import ServicesDep
from service.keys import Role
from service.web.access import AnyKey

router = APIRouter(include_in_schema=False)


def model_entry(record: ModelRecord, *, with_path: bool) -> dict[str, Any]:
    entry = asdict(record)
    if not with_path:
        entry.pop("path")
    return entry


def registry_serving_id(conn) -> int | None:
    """The id of the model the registry serves now; None while none is registered."""
    try:
        return serving_model(conn).id
    except NotFoundError:
        return None


@router.get("/web/api/models")
def models(services: ServicesDep, key: AnyKey) -> dict:
    """The registry, the served model and its answer policy, and how often this process looks for
    a newly promoted model (0: never; a remote engine is never replaced)."""
    with services.pool.connection() as conn:
        records = list_models(conn)
        registry_id = registry_serving_id(conn)
    answerer = services.answerer
    with_path = key.role is Role.admin
    return {
        "models": [model_entry(record, with_path=with_path) for record in records],
        "served": model_entry(answerer.model, with_path=with_path),
        "policy": answerer.policy.to_dict(),
        "registry_serving_id": registry_id,
        "refresh_seconds": services.refresh.interval if services.refresh else 0,
    }

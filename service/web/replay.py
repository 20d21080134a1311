"""Replay from the Logs page with the services the app already holds: ``versioning.replay``'s
``replay_log`` given the app's searcher (borrowed: the replay may not close it), its embedder
and its loaded generator. No second model is loaded: a replay that needs other weights or
another dtype is refused with a 409 that names ``rag replay``. It holds the generation lock
(one generation at a time) and writes no log row (``replay_log`` rolls its answers back)."""

from typing import Any

from models.artifact import ModelArtifact
from models.generator import Generator, ensure_base_model
from retrieval.base import Searcher
from service.errors import ApiError
from service.services import Services
from versioning.replay import replay_log


class BorrowedSearcher:
    """The app's searcher for one replay: searches through it, never closes it."""

    def __init__(self, searcher: Searcher):
        self._searcher = searcher

    @property
    def embedder(self):
        return self._searcher.embedder

    def search(self, query, *, k=10, mode="hybrid", filters=None):
        return self._searcher.search(query, k=k, mode=mode, filters=filters)

    def close(self) -> None:
        pass


def loaded_generator(services: Services, log_id: int):
    """``generator_for`` for ``replay_log``: the served generator when the weights and dtype asked
    for are the loaded ones, else a 409."""

    def generator_for(artifact: ModelArtifact, dtype: str) -> Generator:
        model, policy = services.answerer.model, services.answerer.policy
        if artifact.sha256 == model.sha256 and dtype == policy.dtype:
            return services.answerer.generator
        raise ApiError(
            409,
            "conflict",
            f"replaying log {log_id} needs the weights {artifact.sha256[:12]} in {dtype}, and this service holds "
            f"{model.sha256[:12]} in {policy.dtype} (it loads no second model); run `rag replay {log_id}` instead.",
        )

    return generator_for


def replay(services: Services, log_id: int) -> dict[str, Any]:
    """``replay_log`` of ``log_id`` as JSON, run with the app's services (call it in a thread)."""
    settings = services.settings
    with services.answer_slots, services.pool.connection() as conn:
        report = replay_log(
            settings,
            conn,
            log_id,
            generator_for=loaded_generator(services, log_id),
            open_searcher=lambda: BorrowedSearcher(services.searcher),
            embedder=lambda: services.searcher.embedder,
            base=lambda: ensure_base_model(settings),
        )
    return report.to_json()

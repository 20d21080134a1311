"""What the app holds while it runs: the connection pool, the searcher, the answerer (swapped
for a new one when another model is promoted: ``service.serving_refresh``), the rate limiter
and the metrics. ``open_services`` loads them (called from the lifespan, never at import);
tests may hand in a small searcher or generator of their own."""

import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field

from psycopg_pool import ConnectionPool

from answering.compose import compose_answerer
from answering.pipeline import Answerer
from core.db import open_pool
from core.settings import Settings
from models.generator import Generator
from models.registry import ModelRecord
from retrieval.base import Searcher
from retrieval.searcher import open_searcher
from service.metrics import Metrics
from service.ratelimit import RateLimiter
from service.serving_refresh import ServingRefresh

GeneratorLoader = Callable[[ModelRecord], Generator]


@dataclass
class Services:
    settings: Settings
    pool: ConnectionPool
    searcher: Searcher
    answerer: Answerer  # read once per request: the refresh replaces it, never changes it
    metrics: Metrics
    limiter: RateLimiter
    refresh: ServingRefresh | None = None
    # RAG_MAX_CONCURRENT_ANSWERS answers at once; their decode steps share each read of the weights.
    answer_slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self.answer_slots = threading.BoundedSemaphore(self.settings.max_concurrent_answers)

    def close(self) -> None:
        if self.refresh is not None:
            self.refresh.close()
        self.searcher.close()
        self.pool.close()


def open_services(
    settings: Settings,
    metrics: Metrics,
    *,
    searcher: Searcher | None = None,
    generator: Generator | None = None,
    load_generator: GeneratorLoader | None = None,
) -> Services:
    """Open the pool and the searcher, load the serving model (``models.serving``) and start
    checking for a newly promoted one. ``searcher`` and ``generator`` replace the real ones;
    ``load_generator`` replaces loading a newly promoted model's generator (by default the
    stand-in ``generator`` when one is given, else the real loader)."""
    with ExitStack() as on_failure:
        pool = open_pool(settings)
        on_failure.callback(pool.close)
        if searcher is None:
            searcher = open_searcher(settings, pool=pool)
            on_failure.callback(searcher.close)
        answerer = compose_answerer(settings, pool.connection, searcher=searcher, generator=generator)
        on_failure.pop_all()
    limiter = RateLimiter(pool.connection, settings.rate_limit_per_minute)
    services = Services(settings, pool, searcher, answerer, metrics, limiter)
    services.refresh = _serving_refresh(services, load_generator or _stand_in_loader(generator))
    services.refresh.start()
    return services


def _stand_in_loader(generator: Generator | None) -> GeneratorLoader | None:
    """A stand-in ``generator`` answers for every model promoted later; None: the real loader."""
    return None if generator is None else (lambda model: generator)


def _serving_refresh(services: Services, load_generator: GeneratorLoader | None) -> ServingRefresh:
    """The refresh that composes an answerer for a newly serving model over ``services``' pool
    and searcher, and swaps it in."""
    settings = services.settings

    def compose(model: ModelRecord) -> Answerer:
        loaded = load_generator(model) if load_generator else None
        searcher = services.searcher
        return compose_answerer(settings, services.pool.connection, model=model, searcher=searcher, generator=loaded)

    def swap(new: Answerer) -> None:
        services.answerer = new

    # A remote engine (RAG_GENERATOR_URL) is the serving model by configuration: the registry's
    # promoted model does not replace it, so there is nothing to refresh.
    interval = 0 if settings.generator_url else settings.model_refresh_seconds
    current = services.answerer.model
    return ServingRefresh(services.pool.connection, current, compose=compose, swap=swap, interval=interval)

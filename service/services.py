"""What the app holds while it runs: the connection pool, the searcher, the answerer, the
rate limiter and the metrics. ``open_services`` loads them (called from the lifespan, never
at import); tests may hand in a small searcher or generator of their own."""

import threading
from contextlib import ExitStack
from dataclasses import dataclass, field

from psycopg_pool import ConnectionPool

from answering.compose import compose_answerer
from answering.pipeline import Answerer
from core.db import open_pool
from core.settings import Settings
from models.generator import Generator
from retrieval.base import Searcher
from retrieval.searcher import open_searcher
from service.metrics import Metrics
from service.ratelimit import RateLimiter


@dataclass
class Services:
    settings: Settings
    pool: ConnectionPool
    searcher: Searcher
    answerer: Answerer
    metrics: Metrics
    limiter: RateLimiter
    # One generation at a time: on 2 cores two would only slow each other down.
    generation_lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        self.searcher.close()
        self.pool.close()


def open_services(
    settings: Settings, metrics: Metrics, *, searcher: Searcher | None = None, generator: Generator | None = None
) -> Services:
    """Open the pool and the searcher and load the serving model (``models.serving``);
    ``searcher`` and ``generator`` replace the real ones."""
    with ExitStack() as on_failure:
        pool = open_pool(settings)
        on_failure.callback(pool.close)
        if searcher is None:
            searcher = open_searcher(settings, pool=pool)
            on_failure.callback(searcher.close)
        answerer = compose_answerer(settings, pool.connection, searcher=searcher, generator=generator)
        on_failure.pop_all()
    return Services(
        settings, pool, searcher, answerer, metrics, RateLimiter(pool.connection, settings.rate_limit_per_minute)
    )

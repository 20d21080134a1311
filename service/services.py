"""What the app holds while it runs: the connection pool, the searcher, the answerer, the
rate limiter and the metrics. ``open_services`` loads them (called from the lifespan, never
at import); tests may hand in a small searcher or generator of their own."""

import threading
from dataclasses import dataclass, field
from typing import Any

from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from rag.db import connection, database_url
from rag.settings import Settings
from service.metrics import Metrics
from service.ratelimit import RateLimiter


@dataclass
class Services:
    settings: Settings
    pool: ConnectionPool
    searcher: Any  # retrieval.searcher.Searcher
    answerer: Any  # answering.pipeline.Answerer
    metrics: Metrics
    limiter: RateLimiter
    # One generation at a time: the model is not thread-safe and 2 cores gain nothing from two.
    generation_lock: threading.Lock = field(default_factory=threading.Lock)

    def close(self) -> None:
        self.searcher.close()
        self.pool.close()


def open_pool(settings: Settings) -> ConnectionPool:
    """A small pool of connections to the migrated database (migrated once, here)."""
    with connection(settings):
        pass
    pool = ConnectionPool(
        database_url(settings), min_size=1, max_size=8, timeout=10, configure=register_vector, open=False
    )
    pool.open(wait=True)
    return pool


def open_services(settings: Settings, metrics: Metrics, *, searcher=None, generator=None) -> Services:
    from answering.pipeline import Answerer
    from models.generator import load_generator
    from models.registry import serving_model
    from retrieval.searcher import open_searcher

    pool = open_pool(settings)
    searcher = searcher or open_searcher(settings)
    generator = generator or load_generator(settings)
    with pool.connection() as conn:
        model = serving_model(conn)
    answerer = Answerer(settings, searcher=searcher, generator=generator, model=model, pool_or_connect=pool)
    return Services(settings, pool, searcher, answerer, metrics, RateLimiter(settings.rate_limit_per_minute))

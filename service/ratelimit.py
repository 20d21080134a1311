"""A per-key token bucket: ``per_minute`` requests, refilled continuously, kept in Postgres
(``rate_limit_buckets``, sql/010) so that every process over one database shares one limit.

A request takes its token in one statement: the row is created full (less the token) or
refilled by ``(now - updated_at) x rate``, capped at the limit, and a token taken when one is
there; the row lock serialises concurrent requests for one key across processes. ``now`` is
the database's ``clock_timestamp()`` unless the limiter's ``clock`` returns a timestamp (tests
move time by hand that way)."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

import psycopg

Connect = Callable[[], AbstractContextManager[psycopg.Connection]]

_TAKE = """
INSERT INTO rate_limit_buckets AS b (key_id, tokens, updated_at, wait_seconds)
VALUES (%(key_id)s, %(capacity)s - 1, coalesce(%(now)s::timestamptz, clock_timestamp()), 0)
ON CONFLICT (key_id) DO UPDATE SET (tokens, updated_at, wait_seconds) = (
    SELECT CASE WHEN refilled >= 1 THEN refilled - 1 ELSE refilled END,
           GREATEST(b.updated_at, EXCLUDED.updated_at),
           CASE WHEN refilled >= 1 THEN 0 ELSE (1 - refilled) / %(rate)s END
    FROM (SELECT LEAST(%(capacity)s, b.tokens + %(rate)s
                 * GREATEST(0, extract(epoch FROM EXCLUDED.updated_at - b.updated_at))) AS refilled) AS r
)
RETURNING wait_seconds
"""


class RateLimiter:
    """``acquire(key_id)``: 0.0 when the key may make a request now, else the seconds to wait."""

    def __init__(self, connect: Connect, per_minute: int, clock: Callable[[], datetime | None] = lambda: None):
        self.connect = connect
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock

    def acquire(self, key_id: int) -> float:
        """Take one request for ``key_id``: 0.0 when allowed, else the seconds until it would be."""
        params = {"key_id": key_id, "capacity": self.capacity, "rate": self.rate, "now": self.clock()}
        with self.connect() as conn:
            wait = conn.execute(_TAKE, params).fetchone()[0]
        return float(wait)

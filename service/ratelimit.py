"""A per-key token bucket: ``per_minute`` requests, refilled continuously.

In memory, per process: `rag serve` runs one process, so this is the whole truth; behind
several workers each would allow its own share."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key_id: int) -> float:
        """Take one request for ``key_id``: 0.0 when allowed, else the seconds until it would be."""
        now = self.clock()
        with self._lock:
            bucket = self._buckets.setdefault(key_id, _Bucket(self.capacity, now))
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

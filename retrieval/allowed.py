"""The chunk ids a list of filters allows, for the retrievers that filter by id (BM25 and
FAISS): one SQL query per distinct (filters, index stamp), remembered until the stamp moves."""

import threading
from collections import OrderedDict

import numpy as np
from psycopg_pool import ConnectionPool

from retrieval.filters import CHUNK_JOIN, Filter, filter_sql

_CACHED = 32  # distinct filter sets kept; each is at most one int64 per searchable chunk


class AllowedIds:
    def __init__(self, pool: ConnectionPool):
        self._pool = pool
        self._cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def ids(self, filters: list[Filter], stamp: int) -> np.ndarray:
        """Ascending ids of the searchable chunks that pass every filter."""
        key = (stamp, tuple(filters))
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        condition, params = filter_sql(filters)
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT c.id FROM {CHUNK_JOIN} WHERE c.embedding IS NOT NULL AND {condition} ORDER BY c.id",
                params,
            ).fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        with self._lock:
            self._cache[key] = ids
            while len(self._cache) > _CACHED:
                self._cache.popitem(last=False)
        return ids

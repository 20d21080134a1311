"""The dense side: cosine similarity between the query's embedding and the chunk vectors,
from the FAISS index (HNSW, filtered by id inside FAISS; see ``index.faiss_index``) or from
pgvector (HNSW, filtered in the WHERE clause). Both return ``(chunk_id, cosine)`` best first.

pgvector's HNSW search is approximate: ``hnsw.ef_search`` (``RAG_HNSW_EF_SEARCH``, raised to
``k`` when ``k`` is larger) bounds the candidate list, and iterative index scans
(``hnsw.iterative_scan = relaxed_order``, pgvector >= 0.8) keep scanning when filters reject
candidates, so a filtered query still returns ``k`` rows. Relaxed order means rows can come
back slightly out of order; they are re-sorted here."""

from collections.abc import Callable

import numpy as np
from psycopg_pool import ConnectionPool

from index.faiss_index import FaissIndex
from index.ranked import Ranked
from models.embedder import Embedder
from retrieval.filters import CHUNK_JOIN, Filter, filter_sql


class DenseRetriever:
    """``search`` embeds the query; ``search_vector`` takes one already embedded."""

    embedder: Embedder

    def search(self, query: str, k: int, filters: list[Filter] | None = None) -> Ranked:
        return self.search_vector(self.embedder.embed([query])[0], k, filters)

    def search_vector(self, vector: np.ndarray, k: int, filters: list[Filter] | None = None) -> Ranked:
        raise NotImplementedError


class FaissRetriever(DenseRetriever):
    def __init__(self, index: FaissIndex, embedder: Embedder, allowed: Callable[[list[Filter]], np.ndarray]):
        self.index = index
        self.embedder = embedder
        self.allowed = allowed

    def search_vector(self, vector: np.ndarray, k: int, filters: list[Filter] | None = None) -> Ranked:
        allowed = self.allowed(filters) if filters else None
        return self.index.search(vector[None, :], k, allowed)[0]


class PgvectorRetriever(DenseRetriever):
    def __init__(self, pool: ConnectionPool, embedder: Embedder, ef_search: int):
        self.pool = pool
        self.embedder = embedder
        self.ef_search = ef_search

    def search_vector(self, vector: np.ndarray, k: int, filters: list[Filter] | None = None) -> Ranked:
        condition, params = filter_sql(filters or [])
        # Unfiltered, the joins are dropped so the planner has nothing to weigh against HNSW.
        tables = CHUNK_JOIN if filters else "chunks c"
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "SELECT set_config('hnsw.ef_search', %s, true),"
                " set_config('hnsw.iterative_scan', 'relaxed_order', true)",
                (str(max(self.ef_search, k)),),
            )
            rows = conn.execute(
                f"SELECT c.id, 1 - (c.embedding <=> %s) FROM {tables}"
                f" WHERE c.embedding IS NOT NULL AND {condition} ORDER BY c.embedding <=> %s LIMIT %s",
                [vector, *params, vector, k],
            ).fetchall()
        return sorted(((int(i), float(s)) for i, s in rows), key=lambda p: (-p[1], p[0]))

"""``HybridSearcher``: the ``Searcher`` (``retrieval.base``) every caller searches through.

It owns a connection pool, loads each side on first use (BM25 index, embedder, FAISS index),
runs the two sides of a hybrid search (concurrently while cores are idle), fuses them, and returns hydrated hits.
Every ``RAG_INDEX_REFRESH_SECONDS`` it looks at the latest FAISS build id; when ingest has
written a newer one it loads the new indexes in the background of one request while the others
keep using the old ones. Safe to share between threads.

Reads and writes may go to two pools: ``pool`` (the primary) takes the writes and the loads that
pair with a writer (BM25 rebuild bookkeeping, the pgvector index build, the FAISS checksum under
the ingest writer's lock); ``read_pool`` (a streaming replica when ``RAG_DATABASE_REPLICA_URL``
is set, else the primary) serves every per-search read: the ingest stamp, allowed ids,
hydration and pgvector search. A replica may lag: its stamp and rows are those of a slightly
older, but consistent, ingest until it catches up.

Scores: ``score`` is the mode's own (BM25, cosine, or the fused score in [0, 1], see
``retrieval.fusion``); ``scores["dense"]`` is the raw cosine of every hit whenever the query was
embedded (dense and hybrid), ``scores["bm25"]`` the raw BM25 score when the keyword side
returned that chunk. The cosine is absolute, so it is the signal to threshold for "no answer"."""

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from psycopg_pool import ConnectionPool

from core.db import open_pool, open_read_pool
from core.errors import InputError
from core.settings import Settings
from index.bm25_store import load_bm25
from index.builds import latest_ingest_stamp
from index.ranked import Ranked
from models.embedder import Embedder
from retrieval.allowed import AllowedIds
from retrieval.base import SearchHit
from retrieval.filters import CHUNK_JOIN, Filter
from retrieval.fusion import fuse
from retrieval.keyword import Bm25Retriever
from retrieval.query_embedder import BatchingQueryEmbedder

if TYPE_CHECKING:  # loaded on first dense search: it imports FAISS
    from retrieval.dense import DenseRetriever

MODES = ("hybrid", "bm25", "dense")


@dataclass
class _Sides:
    """The indexes loaded for one ingest stamp; each side is loaded on first use."""

    stamp: int
    bm25: Bm25Retriever | None = None
    dense: "DenseRetriever | None" = None


class HybridSearcher:
    def __init__(
        self,
        settings: Settings,
        pool: ConnectionPool,
        embedder: Embedder | None = None,
        *,
        read_pool: ConnectionPool | None = None,
        owned: tuple[ConnectionPool, ...] = (),
    ):
        """``pool`` takes the writes, ``read_pool`` (default: ``pool``) the reads; ``owned``
        are the pools this searcher closes with itself."""
        self.settings = settings
        self._pool = pool
        self._read_pool = read_pool or pool
        self._owned = owned
        self._embedder = embedder
        self._allowed = AllowedIds(self._read_pool)
        self._executor = ThreadPoolExecutor(max_workers=settings.pool_size, thread_name_prefix="rag-search")
        self._load_lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._queries: BatchingQueryEmbedder | None = None  # over ``_embedder``, built when it loads
        self._busy = threading.BoundedSemaphore(os.cpu_count() or 1)  # searches that may split in two
        with self._read_pool.connection() as conn:
            self._sides = _Sides(latest_ingest_stamp(conn))
        self._checked_at = time.monotonic()

    def search(
        self, query: str, *, k: int = 10, mode: str = "hybrid", filters: list[Filter] | None = None
    ) -> list[SearchHit]:
        """The ``k`` best chunks for ``query`` that pass every filter, best first."""
        if mode not in MODES:
            raise InputError(f"unknown mode {mode!r}; expected one of: {', '.join(MODES)}")
        if k < 1:
            raise InputError(f"k must be at least 1; got {k}")
        if not query.strip():
            raise InputError("the query is empty; pass some words to search for")
        sides = self._current_sides()
        filters = filters or []
        vector = None
        keyword: Ranked = []
        if mode == "bm25":
            ranked = keyword = self._bm25(sides).search(query, k, filters)
        elif mode == "dense":
            vector = self.embed(query)
            ranked = self._dense(sides).search_vector(vector, k, filters)
        else:
            fetch = k * self.settings.overfetch
            dense_side = self._dense(sides)

            def embed_and_search() -> tuple[np.ndarray, Ranked]:
                embedded = self.embed(query)
                return embedded, dense_side.search_vector(embedded, fetch, filters)

            keyword, (vector, semantic) = self._both(
                lambda: self._bm25(sides).search(query, fetch, filters), embed_and_search
            )
            ranked = fuse(
                keyword,
                semantic,
                method=self.settings.fusion,
                rrf_k=self.settings.rrf_k,
                alpha=self.settings.fusion_alpha,
            )[:k]
        return self._hydrate(ranked, dict(keyword), vector)

    def _both(
        self, keyword_side: Callable[[], Ranked], dense_side: Callable[[], tuple[np.ndarray, Ranked]]
    ) -> tuple[Ranked, tuple[np.ndarray, Ranked]]:
        """Run the two sides of a hybrid search: concurrently (the dense side on a worker
        thread) while fewer searches than CPU cores are splitting, one after the other beyond
        that, where a second thread only adds hand-offs (bench/search.py measures both)."""
        if not self._busy.acquire(blocking=False):
            return keyword_side(), dense_side()
        try:
            pending = self._executor.submit(dense_side)
            return keyword_side(), pending.result()
        finally:
            self._busy.release()

    def embed(self, query: str) -> np.ndarray:
        """The query's vector, in one forward with the concurrent searches' queries, or cached."""
        return self.embedder.embed_one(query)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for pool in self._owned:
            pool.close()

    def __enter__(self) -> "HybridSearcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _hydrate(self, ranked: Ranked, bm25_scores: dict[int, float], vector: np.ndarray | None) -> list[SearchHit]:
        if not ranked:
            return []
        with self._read_pool.connection() as conn:
            rows = conn.execute(
                "SELECT c.id, s.uri, col.name, c.text, c.char_start, c.char_end, s.metadata, c.pages,"
                f" 1 - (c.embedding <=> %s::vector) FROM {CHUNK_JOIN} WHERE c.id = ANY(%s)",
                (vector, [cid for cid, _ in ranked]),
            ).fetchall()
        by_id = {row[0]: row for row in rows}
        hits = []
        for chunk_id, score in ranked:
            row = by_id.get(chunk_id)
            if row is None:  # replaced by an ingest since the index was loaded
                continue
            _, uri, collection, text, start, end, metadata, pages, cosine = row
            scores = {"bm25": bm25_scores.get(chunk_id), "dense": None if cosine is None else float(cosine)}
            hits.append(
                SearchHit(chunk_id, uri, collection, text, (start, end), metadata, float(score), scores, pages or [])
            )
        return hits

    def _current_sides(self) -> _Sides:
        due = time.monotonic() - self._checked_at >= self.settings.index_refresh_seconds
        if due and self._refresh_lock.acquire(blocking=False):
            try:
                self._checked_at = time.monotonic()
                with self._read_pool.connection() as conn:
                    stamp = latest_ingest_stamp(conn)
                if stamp != self._sides.stamp:
                    old, new = self._sides, _Sides(stamp)
                    if old.bm25 is not None:
                        self._bm25(new)
                    if old.dense is not None:
                        self._dense(new)
                    self._sides = new
            finally:
                self._refresh_lock.release()
        return self._sides

    def _bm25(self, sides: _Sides) -> Bm25Retriever:
        if sides.bm25 is None:
            with self._load_lock:
                if sides.bm25 is None:
                    index = load_bm25(self.settings, self._pool, sides.stamp)
                    sides.bm25 = Bm25Retriever(index, partial(self._allowed.ids, stamp=sides.stamp))
        return sides.bm25

    def _dense(self, sides: _Sides) -> "DenseRetriever":
        if sides.dense is None:
            embedder = self._loaded_embedder()
            with self._load_lock:
                if sides.dense is None:
                    sides.dense = self._open_dense(embedder, sides.stamp)
        return sides.dense

    def _open_dense(self, embedder: Embedder, stamp: int) -> "DenseRetriever":
        from retrieval.dense import FaissRetriever, PgvectorRetriever

        if self.settings.vector_backend == "pgvector":
            from index.pgvector_index import ensure_pgvector_index

            with self._pool.connection() as conn:
                ensure_pgvector_index(conn)
            return PgvectorRetriever(self._read_pool, embedder, self.settings.hnsw_ef_search)
        import faiss

        from index.faiss_index import FaissIndex

        # Requests run in parallel threads; OpenMP threads inside each single-query search
        # only oversubscribe the cores (measured: 4x slower per query on 2 cores).
        faiss.omp_set_num_threads(1)
        with self._pool.connection() as conn:
            index = FaissIndex.load_verified(self.settings, conn)
        return FaissRetriever(index, embedder, partial(self._allowed.ids, stamp=stamp))

    @property
    def embedder(self) -> BatchingQueryEmbedder:
        """The query embedder (loaded on first use), safe to share with the searches' threads: an
        ``Embedder`` whose one-text calls are batched and cached (``retrieval.query_embedder``)."""
        self._loaded_embedder()
        return self._queries

    def _loaded_embedder(self) -> Embedder:
        if self._queries is None:
            with self._load_lock:
                if self._queries is None:
                    if self._embedder is None:
                        from models.embedder import load_embedder

                        self._embedder = load_embedder(self.settings)
                    self._queries = BatchingQueryEmbedder(
                        self._embedder,
                        max_batch=self.settings.embed_batch_size,
                        cache_size=self.settings.query_cache_size,
                    )
        return self._embedder


def open_searcher(
    settings: Settings, embedder: Embedder | None = None, pool: ConnectionPool | None = None
) -> HybridSearcher:
    """A searcher over the configured database, through ``pool`` (the caller's, which it keeps)
    or a pool of its own (closed with the searcher); it reads through a replica pool of its own
    when ``RAG_DATABASE_REPLICA_URL`` is set (``core.db.open_read_pool``). Indexes and the
    embedder load on first use."""
    owned: tuple[ConnectionPool, ...] = ()
    if pool is None:
        pool = open_pool(settings)
        owned = (pool,)
    read_pool = open_read_pool(settings, pool)
    if read_pool is not pool:
        owned += (read_pool,)
    return HybridSearcher(settings, pool, embedder, read_pool=read_pool, owned=owned)

"""The FAISS copy of the searchable vectors: an HNSW graph over L2-normalised vectors, searched
by inner product (cosine), FAISS ids equal to ``chunks.id``.

HNSW is approximate: ``hnsw_ef_search`` (``RAG_HNSW_EF_SEARCH``, raised to ``k`` when ``k`` is
larger) bounds the candidate list; recall@10 against exact search is printed by
``bench/search.py``. A filter (``allowed_ids``) is applied inside the graph search; when it
keeps under ``EXACT_SHARE`` of the vectors, or the graph search comes back short of ``k``, the
allowed vectors are searched exactly instead, so ``k`` allowed results still come back.

HNSW cannot delete: ``remove`` rebuilds the graph from the vectors it keeps (a few seconds per
10,000 vectors on 2 cores), which only happens when ingest prunes or replaces chunks.

Postgres is the source of truth. ``sync_index`` brings the file in step with the chunks that
hold an embedding, so a crash between a database commit and ``save`` heals on the next run.
The file has one writer at a time: ``sync_index`` holds an advisory lock over the index (not a
collection) from load to save, so ingests into different collections never interleave their
writes. ``save`` writes atomically (a unique temp file in the same folder, fsync, rename) and
records an ``index_builds`` row with the file's sha256. A file whose sha256 differs from the
latest build row is not trusted: ``sync_index`` rebuilds it from pgvector, and
``load_verified`` (the searcher's loader) refuses it."""

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np
import psycopg

from core.errors import IndexIntegrityError
from core.settings import Settings
from index.builds import latest_faiss_checksum
from index.ranked import Ranked

DIMENSION = 384
INDEX_FILE = "index.faiss"
HNSW_M = 32  # graph neighbours per vector (FAISS's usual HNSW32)
HNSW_EF_CONSTRUCTION = 64  # as pgvector's default
EXACT_SHARE = 0.05
_FETCH_BATCH = 10_000
_WRITER_LOCK = 7_201_107  # advisory lock key: one writer of the index file, shared by readers


def _as_ids(ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)


def _as_vectors(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, DIMENSION)


def _empty_index() -> faiss.Index:
    graph = faiss.IndexHNSWFlat(DIMENSION, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    return faiss.IndexIDMap2(graph)


class FaissIndex:
    """An ``IndexIDMap2(IndexHNSWFlat)`` stored at ``settings.faiss_dir / index.faiss``."""

    def __init__(self, index: faiss.Index, path: Path, ef_search: int):
        self._index = index
        self.path = path
        self.ef_search = ef_search

    @classmethod
    def load(cls, settings: Settings) -> "FaissIndex":
        """The saved index, or an empty one when none is on disk."""
        path = settings.faiss_dir / INDEX_FILE
        index = faiss.read_index(str(path)) if path.is_file() else _empty_index()
        return cls(index, path, settings.hnsw_ef_search)

    @classmethod
    def load_verified(cls, settings: Settings, conn: psycopg.Connection) -> "FaissIndex":
        """The saved index, refused when its sha256 differs from the latest build row; an
        empty one when no file is on disk."""
        path = settings.faiss_dir / INDEX_FILE
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (_WRITER_LOCK,))
            data = _read(path)
            recorded = latest_faiss_checksum(conn)
        if data is None:
            return cls(_empty_index(), path, settings.hnsw_ef_search)
        checksum = _sha256(data)
        if checksum != recorded:
            raise IndexIntegrityError(
                f"the FAISS index {path} does not match its build record (sha256 {checksum[:12]},"
                f" recorded {(recorded or 'none')[:12]}); run 'rag ingest' (any collection, even"
                " unchanged files) to rebuild it from Postgres, or set RAG_VECTOR_BACKEND=pgvector."
            )
        return cls(faiss.deserialize_index(data), path, settings.hnsw_ef_search)

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        """External ids in internal order (row ``i`` of ``vectors()`` has id ``ids()[i]``)."""
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def vectors(self) -> np.ndarray:
        """Every stored vector, a read-only view in internal order."""
        storage = faiss.downcast_index(faiss.downcast_index(self._index.index).storage)
        rows = faiss.rev_swig_ptr(storage.get_xb(), self.ntotal * DIMENSION)
        return np.asarray(rows).reshape(-1, DIMENSION)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if len(ids):
            self._index.add_with_ids(_as_vectors(vectors), ids)

    def remove(self, ids: np.ndarray) -> None:
        """Rebuild the graph without ``ids`` (HNSW has no delete)."""
        present = self.ids()
        keep = ~np.isin(present, _as_ids(ids))
        if keep.all():
            return
        kept_vectors = self.vectors()[keep].copy()
        self._index = _empty_index()
        self.add(present[keep], kept_vectors)

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Top ``k`` (chunk id, inner product) per query; ``allowed_ids`` filters inside
        FAISS, so up to ``k`` allowed results still come back."""
        queries = _as_vectors(queries)
        if self.ntotal == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        k = min(k, self.ntotal)
        params = faiss.SearchParametersHNSW(efSearch=max(self.ef_search, k))
        if allowed_ids is None:
            return _rows(*self._index.search(queries, k, params=params))
        allowed = _as_ids(allowed_ids)
        if len(allowed) < EXACT_SHARE * self.ntotal:
            return self._exact(queries, k, allowed)
        selector = faiss.IDSelectorBatch(allowed)  # a local keeps it alive: params holds a bare pointer
        params.sel = selector
        found = _rows(*self._index.search(queries, k, params=params))
        wanted = min(k, len(allowed))
        if all(len(row) >= wanted for row in found):
            return found
        return self._exact(queries, k, allowed)

    def _exact(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> list[list[tuple[int, float]]]:
        """Exact inner product over the allowed vectors only."""
        ids = self.ids()
        rows = np.flatnonzero(np.isin(ids, allowed))
        if not len(rows):
            return [[] for _ in range(len(queries))]
        scores, positions = faiss.knn(
            queries, self.vectors()[rows], min(k, len(rows)), metric=faiss.METRIC_INNER_PRODUCT
        )
        return _rows(scores, np.where(positions >= 0, ids[rows][positions], -1))

    def save(self, conn: psycopg.Connection, ingest_run_id: int | None) -> int:
        """Write the index atomically and record it in ``index_builds``; return the build id."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = faiss.serialize_index(self._index).tobytes()
        checksum = _sha256(data)
        with tempfile.NamedTemporaryFile(
            dir=self.path.parent, prefix=f"{INDEX_FILE}.", suffix=".tmp", delete=False
        ) as tmp:
            try:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            except BaseException:
                os.unlink(tmp.name)
                raise
        os.replace(tmp.name, self.path)
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO index_builds (kind, index_id, vector_count, checksum, path, ingest_run_id)"
                " VALUES ('faiss', %s, %s, %s, %s, %s) RETURNING id",
                (f"faiss-hnsw{HNSW_M}-{checksum[:12]}", self.ntotal, checksum, str(self.path), ingest_run_id),
            ).fetchone()
        return int(row[0])

    def reconcile(self, conn: psycopg.Connection) -> tuple[int, int]:
        """Make the id set equal the chunks with an embedding; return (added, removed)."""
        stored = np.array(
            [r[0] for r in conn.execute("SELECT id FROM chunks WHERE embedding IS NOT NULL")], dtype=np.int64
        )
        present = self.ids()
        extra = np.setdiff1d(present, stored, assume_unique=True)
        missing = np.setdiff1d(stored, present, assume_unique=True)
        self.remove(extra)
        for start in range(0, len(missing), _FETCH_BATCH):
            batch = missing[start : start + _FETCH_BATCH]
            rows = (
                conn.cursor(binary=True)
                .execute("SELECT id, embedding FROM chunks WHERE id = ANY(%s)", (batch.tolist(),))
                .fetchall()
            )
            self.add(np.array([r[0] for r in rows]), np.stack([r[1].to_numpy() for r in rows]))
        return len(missing), len(extra)


@contextmanager
def _index_writer(conn: psycopg.Connection) -> Iterator[None]:
    """Hold the index writer lock (waiting for another writer) on an autocommit session."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_WRITER_LOCK,))
    try:
        yield
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_WRITER_LOCK,))


def sync_index(settings: Settings, conn: psycopg.Connection, ingest_run_id: int | None) -> int | None:
    """Under the writer lock: load the file, rebuild it from pgvector when its sha256 differs
    from the latest build row, reconcile it with Postgres and save it when anything changed.
    Return the new build id, or None when the file was already right. ``conn`` is autocommit."""
    path = settings.faiss_dir / INDEX_FILE
    with _index_writer(conn):
        data = _read(path)
        trusted = data is not None and _sha256(data) == latest_faiss_checksum(conn)
        index = FaissIndex(faiss.deserialize_index(data) if trusted else _empty_index(), path, settings.hnsw_ef_search)
        added, removed = index.reconcile(conn)
        if trusted and not (added or removed):
            return None
        return index.save(conn, ingest_run_id)


def _read(path: Path) -> np.ndarray | None:
    """The file's bytes as the uint8 array FAISS deserialises, or None when absent."""
    try:
        return np.frombuffer(path.read_bytes(), dtype=np.uint8)
    except FileNotFoundError:
        return None


def _sha256(data: bytes | np.ndarray) -> str:
    return hashlib.sha256(data).hexdigest()


def _rows(scores: np.ndarray, ids: np.ndarray) -> list[Ranked]:
    return [
        [(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i != -1] for row_ids, row_scores in zip(ids, scores)
    ]

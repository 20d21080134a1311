"""The FAISS copy of the searchable vectors: exact inner product on L2-normalised vectors
(cosine), FAISS ids equal to ``chunks.id``.

Postgres is the source of truth. ``reconcile`` brings the index in step with the chunks that
hold an embedding, so a crash between a database commit and ``save`` heals on the next run.
``save`` writes atomically (temp file, fsync, rename) and records an ``index_builds`` row."""

import hashlib
import os
from pathlib import Path

import faiss
import numpy as np
import psycopg

from rag.settings import Settings

DIMENSION = 384
INDEX_FILE = "index.faiss"
_FETCH_BATCH = 10_000


def _as_ids(ids: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)


def _as_vectors(vectors: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, DIMENSION)


class FaissIndex:
    """An ``IndexIDMap2(IndexFlatIP)`` stored at ``settings.faiss_dir / index.faiss``."""

    def __init__(self, index: faiss.Index, path: Path):
        self._index = index
        self.path = path

    @classmethod
    def load(cls, settings: Settings) -> "FaissIndex":
        """The saved index, or an empty one when none is on disk."""
        path = settings.faiss_dir / INDEX_FILE
        if path.is_file():
            return cls(faiss.read_index(str(path)), path)
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(DIMENSION)), path)

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self._index.id_map).astype(np.int64)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        ids = _as_ids(ids)
        if len(ids):
            self._index.add_with_ids(_as_vectors(vectors), ids)

    def remove(self, ids: np.ndarray) -> None:
        ids = _as_ids(ids)
        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(ids))

    def search(
        self, queries: np.ndarray, k: int, allowed_ids: np.ndarray | None = None
    ) -> list[list[tuple[int, float]]]:
        """Top ``k`` (chunk id, inner product) per query; ``allowed_ids`` filters inside
        FAISS, so up to ``k`` allowed results still come back."""
        queries = _as_vectors(queries)
        if self.ntotal == 0 or k <= 0:
            return [[] for _ in range(len(queries))]
        params = None
        if allowed_ids is not None:
            allowed = _as_ids(allowed_ids)
            if not len(allowed):
                return [[] for _ in range(len(queries))]
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))
        scores, ids = self._index.search(queries, min(k, self.ntotal), params=params)
        return [
            [(int(i), float(s)) for i, s in zip(row_ids, row_scores) if i != -1]
            for row_ids, row_scores in zip(ids, scores)
        ]

    def save(self, conn: psycopg.Connection, ingest_run_id: int | None) -> int:
        """Write the index atomically and record it in ``index_builds``; return the build id."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        faiss.write_index(self._index, str(tmp))
        with tmp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)
        with self.path.open("rb") as handle:
            checksum = hashlib.file_digest(handle, "sha256").hexdigest()
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO index_builds (kind, index_id, vector_count, checksum, path, ingest_run_id)"
                " VALUES ('faiss', %s, %s, %s, %s, %s) RETURNING id",
                (f"faiss-flatip-{checksum[:12]}", self.ntotal, checksum, str(self.path), ingest_run_id),
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
            rows = conn.cursor(binary=True).execute(
                "SELECT id, embedding FROM chunks WHERE id = ANY(%s)", (batch.tolist(),)
            ).fetchall()
            self.add(np.array([r[0] for r in rows]), np.stack([r[1].to_numpy() for r in rows]))
        return len(missing), len(extra)

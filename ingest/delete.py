"""``rag delete``: remove a collection's sources (all, or those whose uri starts with a given
prefix, or lie under a given path) with their chunks, from Postgres, pgvector and FAISS; the BM25 index follows the new
FAISS build stamp. A duplicate's copy inherits a deleted original's place, as when ingest
prunes. Generation logs keep their rows: ``generation_passages.chunk_id`` is a plain number,
so a log's prompt stays and its passages show the chunk as gone (no row in ``chunks``)."""

from dataclasses import asdict, dataclass
from pathlib import Path

from core.db import connection
from core.errors import NotFoundError
from core.settings import Settings
from index.faiss_index import sync_index
from ingest.discovery import _escape_like, uri_patterns
from ingest.runs import lock_collection
from ingest.store import delete_sources
from models.embedder import Embedder, load_embedder


@dataclass
class DeleteReport:
    collection: str
    sources: int
    chunks: int
    index_build_id: int | None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _patterns(source: str) -> list[str]:
    """``LIKE`` patterns for a uri prefix (``file:///data/old/``) or a file or folder path."""
    if "://" in source:
        return [_escape_like(source) + "%"]
    return uri_patterns(Path(source))


def delete_from_collection(
    settings: Settings, collection: str, uri_prefixes: list[str], embedder: Embedder | None = None
) -> DeleteReport:
    """Delete the sources of ``collection`` whose uri starts with one of ``uri_prefixes``
    (every source when none is given); see the module docstring."""
    with connection(settings, autocommit=True) as conn:
        row = conn.execute("SELECT id FROM collections WHERE name = %s", (collection,)).fetchone()
        if row is None:
            raise NotFoundError(f"no collection '{collection}'; 'rag status' lists the collections.")
        lock_collection(conn, row[0], collection)
        patterns = [p for source in uri_prefixes for p in _patterns(source)] or ["%"]
        source_ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM sources WHERE collection_id = %s AND uri LIKE ANY(%s)", (row[0], patterns)
            )
        ]

        def embed(texts: list[str]):
            return (embedder or load_embedder(settings)).embed(texts)

        with conn.transaction():
            chunks = delete_sources(conn, source_ids, embed)
        build_id = sync_index(settings, conn, None)
    return DeleteReport(collection, len(source_ids), chunks, build_id)

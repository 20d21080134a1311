"""What the database holds: per collection counts, the latest index build, the schema version."""

import psycopg

from core.migrate import schema_version
from core.settings import Settings


def ingest_status(conn: psycopg.Connection, settings: Settings) -> dict:
    collections = conn.execute(
        "SELECT c.name,"
        " (SELECT count(*) FROM sources s WHERE s.collection_id = c.id),"
        " count(k.id), count(k.embedding),"
        " (SELECT count(*) FROM duplicates d JOIN chunks dk ON dk.id = d.chunk_id"
        "   JOIN sources ds ON ds.id = dk.source_id WHERE ds.collection_id = c.id)"
        " FROM collections c LEFT JOIN sources s ON s.collection_id = c.id"
        " LEFT JOIN chunks k ON k.source_id = s.id GROUP BY c.id, c.name ORDER BY c.name"
    ).fetchall()
    build = conn.execute(
        "SELECT id, index_id, vector_count, checksum, path, created_at FROM index_builds"
        " WHERE kind = 'faiss' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return {
        "collections": [
            {"name": name, "sources": sources, "chunks": chunks, "searchable_chunks": searchable, "duplicates": dups}
            for name, sources, chunks, searchable, dups in collections
        ],
        "index_build": None
        if build is None
        else dict(zip(("id", "index_id", "vector_count", "checksum", "path", "created_at"), build)),
        "schema_version": schema_version(conn),
        "data_dir": str(settings.data_dir.resolve()),
    }

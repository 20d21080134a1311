"""What the Sources page reads, each a small query scoped to the key's collections (``None``:
every collection): the collections with their counts, a collection's sources (searchable by uri
or metadata text), and one source's cleaned text rebuilt from its chunks (``passages.stitch``),
cut into segments that say which chunk each part belongs to, with its duplicates named."""

from typing import Any

import psycopg
from psycopg.rows import dict_row

from service.web.passages import stitch

_SCOPE = "(%(scope)s::text[] IS NULL OR col.name = ANY(%(scope)s::text[]))"

_COLLECTIONS = (
    "SELECT col.name, col.created_at,"
    " (SELECT count(*) FROM sources s WHERE s.collection_id = col.id) AS sources,"
    " (SELECT count(*) FROM chunks c JOIN sources s ON s.id = c.source_id WHERE s.collection_id = col.id) AS chunks,"
    " (SELECT count(*) FROM duplicates d JOIN chunks c ON c.id = d.chunk_id JOIN sources s ON s.id = c.source_id"
    "  WHERE s.collection_id = col.id) AS duplicate_chunks,"
    " (SELECT count(*) FROM source_duplicates sd JOIN sources s ON s.id = sd.source_id"
    "  WHERE s.collection_id = col.id) AS duplicate_sources"
    f" FROM collections col WHERE {_SCOPE} ORDER BY col.name"
)
_SOURCES = (
    "SELECT s.id, s.uri, s.size_bytes, s.mime_type, s.ingested_at, s.synthetic, s.metadata,"
    " (SELECT count(*) FROM chunks c WHERE c.source_id = s.id) AS chunks,"
    " EXISTS (SELECT 1 FROM source_duplicates sd WHERE sd.source_id = s.id) AS near_duplicate"
    " FROM sources s JOIN collections col ON col.id = s.collection_id"
    f" WHERE col.name = %(collection)s AND {_SCOPE}"
    " AND (%(text)s::text IS NULL OR s.uri ILIKE %(pattern)s OR s.metadata::text ILIKE %(pattern)s)"
    " ORDER BY s.uri LIMIT %(limit)s OFFSET %(offset)s"
)
_SOURCE = (
    "SELECT s.id, s.uri, col.name AS collection, s.size_bytes, s.mime_type, s.ingested_at, s.synthetic, s.metadata"
    f" FROM sources s JOIN collections col ON col.id = s.collection_id WHERE s.id = %(source)s AND {_SCOPE}"
)
_CHUNKS = (
    "SELECT c.id, c.ordinal, c.char_start, c.char_end, c.pages, c.text, d.kind AS duplicate_kind,"
    " d.similarity AS duplicate_similarity, d.original_chunk_id, o.source_id AS original_source_id,"
    " os.uri AS original_uri, ocol.name AS original_collection"
    " FROM chunks c LEFT JOIN duplicates d ON d.chunk_id = c.id"
    " LEFT JOIN chunks o ON o.id = d.original_chunk_id LEFT JOIN sources os ON os.id = o.source_id"
    " LEFT JOIN collections ocol ON ocol.id = os.collection_id"
    " WHERE c.source_id = %(source)s ORDER BY c.char_start, c.char_end, c.ordinal"
)
_NEAR_SOURCES = (
    "SELECT 'original' AS relation, sd.original_source_id AS source_id, s.uri, col.name AS collection, sd.similarity"
    " FROM source_duplicates sd JOIN sources s ON s.id = sd.original_source_id"
    f" JOIN collections col ON col.id = s.collection_id WHERE sd.source_id = %(source)s AND {_SCOPE}"
    " UNION ALL SELECT 'copy', sd.source_id, s.uri, col.name, sd.similarity"
    " FROM source_duplicates sd JOIN sources s ON s.id = sd.source_id"
    f" JOIN collections col ON col.id = s.collection_id WHERE sd.original_source_id = %(source)s AND {_SCOPE}"
    " ORDER BY relation DESC, similarity DESC"
)
_COPIES = (
    "SELECT d.original_chunk_id AS chunk_id, count(*) AS copies FROM duplicates d"
    " JOIN chunks o ON o.id = d.original_chunk_id WHERE o.source_id = %(source)s GROUP BY d.original_chunk_id"
)


def _rows(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, params).fetchall()


def collection_counts(conn: psycopg.Connection, scope: list[str] | None) -> list[dict[str, Any]]:
    """Each collection the key may read with its source, chunk and duplicate counts."""
    return _rows(conn, _COLLECTIONS, {"scope": scope})


def collection_sources(
    conn: psycopg.Connection, collection: str, scope: list[str] | None, *, text: str | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """The collection's sources by uri, those whose uri or metadata contains ``text`` when given."""
    pattern = None if text is None else "%" + text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
    params = {"collection": collection, "scope": scope, "text": text, "pattern": pattern, "limit": limit}
    return _rows(conn, _SOURCES, params | {"offset": offset})


def segments(chunks: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """The source text rebuilt from ``chunks`` (sorted by start) and its segments in order: each
    part of the text once, with the chunk it first appears in (``chunk_id`` None for a gap)."""
    base, text = stitch([(c["char_start"], c["char_end"], c["text"]) for c in chunks])
    parts: list[dict[str, Any]] = []
    cursor = base
    for chunk in chunks:
        start, end = chunk["char_start"], chunk["char_end"]
        if end <= cursor:
            continue
        if start > cursor:
            parts.append({"chunk_id": None, "text": text[cursor - base : start - base]})
            cursor = start
        parts.append({"chunk_id": chunk["id"], "text": text[cursor - base : end - base]})
        cursor = end
    return text, parts


def _chunk_view(chunk: dict[str, Any], copies: dict[int, int], scope: list[str] | None) -> dict[str, Any]:
    """A chunk without its text; its original named only when the key may read that collection."""
    duplicate = None
    if chunk["duplicate_kind"]:
        readable = scope is None or chunk["original_collection"] in scope
        duplicate = {
            "kind": chunk["duplicate_kind"],
            "similarity": chunk["duplicate_similarity"],
            "original_chunk_id": chunk["original_chunk_id"] if readable else None,
            "original_source_id": chunk["original_source_id"] if readable else None,
            "original_uri": chunk["original_uri"] if readable else None,
        }
    return {
        "id": chunk["id"],
        "ordinal": chunk["ordinal"],
        "span": (chunk["char_start"], chunk["char_end"]),
        "pages": list(chunk["pages"] or []),
        "duplicate_of": duplicate,
        "copies": copies.get(chunk["id"], 0),
    }


def source_view(conn: psycopg.Connection, source_id: int, scope: list[str] | None) -> dict[str, Any] | None:
    """One source with its text, chunk segments, chunks (and what each duplicates) and its
    near-duplicate sources; None when the key may not read it or there is none."""
    params = {"source": source_id, "scope": scope}
    found = _rows(conn, _SOURCE, params)
    if not found:
        return None
    chunks = _rows(conn, _CHUNKS, params)
    copies = {row["chunk_id"]: row["copies"] for row in _rows(conn, _COPIES, params)}
    text, parts = segments(chunks)
    return found[0] | {
        "text": text,
        "segments": parts,
        "chunks": [_chunk_view(chunk, copies, scope) for chunk in chunks],
        "near_duplicates": _rows(conn, _NEAR_SOURCES, params),
    }

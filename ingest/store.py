"""Writes and deletes of sources with their chunks, vectors, LSH bands (of each chunk and of
each source's whole text) and duplicate provenance. Chunk rows go in with binary ``COPY``;
each call runs in one transaction."""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import psycopg

from ingest.chunking import Chunk
from ingest.dedup import BandKey, Duplicate, Fingerprint

Embed = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class SourceRow:
    id: int
    collection_id: int
    uri: str
    sha256: str
    size_bytes: int
    mime_type: str
    metadata: dict[str, object]
    synthetic: bool
    ingest_run_id: int
    fingerprint: Fingerprint  # of the whole cleaned text
    near_duplicate: Duplicate | None  # the source it nearly duplicates (original_id: a source id)


@dataclass(frozen=True)
class ChunkRow:
    id: int
    chunk: Chunk
    fingerprint: Fingerprint
    duplicate: Duplicate | None
    vector: np.ndarray | None  # None exactly when ``duplicate`` is set


def allocate_ids(conn: psycopg.Connection, table: str, count: int) -> list[int]:
    """Reserve ``table`` ids (chunks, sources) up front, so duplicates can point at rows not yet written."""
    if count == 0:
        return []
    rows = conn.execute(
        "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table, count)
    ).fetchall()
    return [r[0] for r in rows]


# The dedup lookups run once per flush while their tables grow from empty. psycopg prepares a
# query after five runs, and the server may then keep a generic plan made on the early, small
# tables: prepared, the source-level lookup took 236 ms a call over a Cranfield ingest (7 ms
# on the finished tables); planned for each call's own arrays, 6 ms. So each call is planned.
_CUSTOM_PLAN = False


def known_originals(
    conn: psycopg.Connection,
    collection_id: int,
    hashes: Sequence[str],
    bands: Sequence[BandKey],
    exclude_source_ids: Sequence[int],
) -> tuple[dict[str, int], dict[BandKey, list[int]], dict[int, str]]:
    """Searchable chunks of the collection that share a content hash or an LSH band with
    the given ones: (hash -> chunk id, band -> chunk ids, chunk id -> text)."""
    exact = dict(
        conn.execute(
            "SELECT c.content_hash, min(c.id) FROM chunks c JOIN sources s ON s.id = c.source_id"
            " WHERE c.content_hash = ANY(%s) AND c.embedding IS NOT NULL AND s.collection_id = %s"
            " AND s.id <> ALL(%s) GROUP BY c.content_hash",
            (list(set(hashes)), collection_id, list(exclude_source_ids)),
            prepare=_CUSTOM_PLAN,
        ).fetchall()
    )
    band_map: dict[BandKey, list[int]] = {}
    texts: dict[int, str] = {}
    if bands:
        rows = conn.execute(
            "SELECT b.band, b.hash, c.id, c.text FROM chunk_bands b"
            " JOIN unnest(%s::smallint[], %s::bigint[]) AS q(band, hash) ON q.band = b.band AND q.hash = b.hash"
            " JOIN chunks c ON c.id = b.chunk_id JOIN sources s ON s.id = c.source_id"
            " WHERE c.embedding IS NOT NULL AND s.collection_id = %s AND s.id <> ALL(%s)",
            ([k[0] for k in bands], [k[1] for k in bands], collection_id, list(exclude_source_ids)),
            prepare=_CUSTOM_PLAN,
        ).fetchall()
        for band, hash_, chunk_id, text in rows:
            band_map.setdefault((band, hash_), []).append(chunk_id)
            texts[chunk_id] = text
    return exact, band_map, texts


def known_source_originals(
    conn: psycopg.Connection, collection_id: int, bands: Sequence[BandKey], exclude_source_ids: Sequence[int]
) -> tuple[dict[BandKey, list[int]], dict[int, list[tuple[int | None, int, int, str]]]]:
    """Sources of the collection (not themselves near duplicates of a source) that share an LSH
    band of their whole text with the given ones: (band -> source ids, source id -> its chunks
    in order as (searchable chunk holding its text, or None when that one is excluded too,
    char_start, char_end, text))."""
    if not bands:
        return {}, {}
    excluded = list(exclude_source_ids)
    band_map: dict[BandKey, list[int]] = {}
    for band, hash_, source_id in conn.execute(
        "SELECT b.band, b.hash, b.source_id FROM source_bands b"
        " JOIN unnest(%s::smallint[], %s::bigint[]) AS q(band, hash) ON q.band = b.band AND q.hash = b.hash"
        " JOIN sources s ON s.id = b.source_id"
        " WHERE s.collection_id = %s AND s.id <> ALL(%s)"
        " AND NOT EXISTS (SELECT 1 FROM source_duplicates sd WHERE sd.source_id = s.id)",
        ([k[0] for k in bands], [k[1] for k in bands], collection_id, excluded),
        prepare=_CUSTOM_PLAN,
    ):
        band_map.setdefault((band, hash_), []).append(source_id)
    chunks: dict[int, list[tuple[int | None, int, int, str]]] = {}
    for source_id, searchable, start, end, text in conn.execute(
        "SELECT c.source_id, CASE WHEN o.source_id = ANY(%s) THEN NULL ELSE o.id END,"
        " c.char_start, c.char_end, c.text FROM chunks c LEFT JOIN duplicates d ON d.chunk_id = c.id"
        " JOIN chunks o ON o.id = coalesce(d.original_chunk_id, c.id)"
        " WHERE c.source_id = ANY(%s) ORDER BY c.source_id, c.ordinal",
        (excluded, sorted({s for ids in band_map.values() for s in ids})),
        prepare=_CUSTOM_PLAN,
    ):
        chunks.setdefault(source_id, []).append((searchable, start, end, text))
    return band_map, chunks


def write_source(conn: psycopg.Connection, source: SourceRow, chunks: Sequence[ChunkRow]) -> int:
    """Insert one source with its chunks, bands and duplicate rows; return the source id."""
    source_id = _insert_source(conn, source)
    if source.near_duplicate:
        conn.execute(
            "INSERT INTO source_duplicates (source_id, original_source_id, similarity, ingest_run_id)"
            " VALUES (%s, %s, %s, %s)",
            (source_id, source.near_duplicate.original_id, source.near_duplicate.similarity, source.ingest_run_id),
        )
    with conn.cursor() as cur:
        with cur.copy("COPY source_bands (source_id, band, hash) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int2", "int8"])
            for band, hash_ in source.fingerprint.bands:
                copy.write_row([source_id, band, hash_])
        _copy_chunks(cur, source_id, chunks)
        with cur.copy("COPY chunk_bands (chunk_id, band, hash) FROM STDIN WITH (FORMAT BINARY)") as copy:
            copy.set_types(["int8", "int2", "int8"])
            for row in chunks:
                for band, hash_ in row.fingerprint.bands:
                    copy.write_row([row.id, band, hash_])
        duplicates = [row for row in chunks if row.duplicate]
        if duplicates:
            with cur.copy(
                "COPY duplicates (chunk_id, original_chunk_id, kind, similarity, ingest_run_id) FROM STDIN"
            ) as copy:
                for row in duplicates:
                    d = row.duplicate
                    copy.write_row([row.id, d.original_id, d.kind, d.similarity, source.ingest_run_id])
    return source_id


def _insert_source(conn: psycopg.Connection, source: SourceRow) -> int:
    return conn.execute(
        "INSERT INTO sources"
        " (id, collection_id, uri, sha256, size_bytes, mime_type, metadata, synthetic, ingest_run_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            source.id,
            source.collection_id,
            source.uri,
            source.sha256,
            source.size_bytes,
            source.mime_type,
            json.dumps(source.metadata),
            source.synthetic,
            source.ingest_run_id,
        ),
    ).fetchone()[0]


def _copy_chunks(cur: psycopg.Cursor, source_id: int, chunks: Sequence[ChunkRow]) -> None:
    """The chunk rows, in order, with their vectors (None for a duplicate)."""
    with cur.copy(
        "COPY chunks"
        " (id, source_id, ordinal, char_start, char_end, text, token_count, content_hash, embedding, pages)"
        " FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int8", "int8", "int4", "int4", "int4", "text", "int4", "text", "vector", "int4[]"])
        for ordinal, row in enumerate(chunks):
            c = row.chunk
            copy.write_row(
                [
                    row.id,
                    source_id,
                    ordinal,
                    c.start,
                    c.end,
                    c.text,
                    c.token_count,
                    row.fingerprint.content_hash,
                    row.vector,
                    list(c.pages) or None,
                ]
            )


def delete_sources(conn: psycopg.Connection, source_ids: Sequence[int], embed: Embed) -> int:
    """Delete sources with their chunks; return the number of chunks removed.

    A deleted chunk that other sources duplicate hands its place to one of them (an exact
    copy first, taking over the vector; a near copy gets its own), and the remaining exact and
    near duplicates point at that heir, so nothing searchable is lost. A "source" duplicate's
    text is only contained in the deleted source, so every one of them is embedded."""
    ids = list(source_ids)
    if not ids:
        return 0
    rows = conn.execute(
        "SELECT d.original_chunk_id, d.chunk_id, d.kind, c.text, o.embedding"
        " FROM duplicates d JOIN chunks c ON c.id = d.chunk_id JOIN chunks o ON o.id = d.original_chunk_id"
        " WHERE o.source_id = ANY(%s) AND c.source_id <> ALL(%s)"
        " ORDER BY d.original_chunk_id, d.kind <> 'exact', d.chunk_id",
        (ids, ids),
    ).fetchall()
    heirs: dict[int, tuple[int, str, str, object]] = {}
    contained: list[tuple[int, str]] = []
    for original, chunk_id, kind, text, vector in rows:
        if kind == "source":
            contained.append((chunk_id, text))
        else:
            heirs.setdefault(original, (chunk_id, kind, text, vector))
    fresh = contained + [(chunk_id, text) for chunk_id, kind, text, _ in heirs.values() if kind == "near"]
    vectors = dict(zip([c for c, _ in fresh], embed([t for _, t in fresh]))) if fresh else {}
    for chunk_id, _ in contained:
        conn.execute("UPDATE chunks SET embedding = %s WHERE id = %s", (vectors[chunk_id], chunk_id))
        conn.execute("DELETE FROM duplicates WHERE chunk_id = %s", (chunk_id,))
    for original, (heir, _kind, _, vector) in heirs.items():
        conn.execute("UPDATE chunks SET embedding = %s WHERE id = %s", (vectors.get(heir, vector), heir))
        conn.execute("DELETE FROM duplicates WHERE chunk_id = %s", (heir,))
        conn.execute("UPDATE duplicates SET original_chunk_id = %s WHERE original_chunk_id = %s", (heir, original))
    return conn.execute(
        "WITH gone AS (DELETE FROM sources WHERE id = ANY(%s) RETURNING id)"
        " SELECT count(*) FROM chunks WHERE source_id IN (SELECT id FROM gone)",
        (ids,),
    ).fetchone()[0]

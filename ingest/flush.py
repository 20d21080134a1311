"""A flush of the ingest pipeline, on its writer thread: decide which chunks copy a known or an
earlier chunk (or are contained in the source their whole source nearly duplicates), embed the
rest, and write each source in its own transaction."""

from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

import psycopg

from core.settings import Settings
from ingest.chunking import Chunk
from ingest.dedup import Duplicate, Fingerprint, OriginalSource, find_duplicates, rebuild_text, word_shingles
from ingest.discovery import SourceInput
from ingest.report import IngestReport
from ingest.store import (
    ChunkRow,
    SourceRow,
    allocate_ids,
    delete_sources,
    known_originals,
    known_source_originals,
    write_source,
)
from models.embedder import Embedder


@dataclass(frozen=True)
class PreparedSource:
    source: SourceInput
    replaces: int | None
    fingerprint: Fingerprint  # of the whole cleaned text, for the source-level near-duplicate check
    chunks: list[Chunk]
    chunk_fingerprints: list[Fingerprint]
    metadata: dict[str, object]  # what reading found (the encoding)


class BatchWriter:
    """Flushes one run's batches of prepared sources into ``collection``; while a flush runs,
    its thread alone uses the connection."""

    def __init__(
        self,
        settings: Settings,
        conn: psycopg.Connection,
        report: IngestReport,
        collection: int,
        metadata: dict[str, str],
        synthetic: bool,
        fail: Callable[[str, str], None],
    ):
        self.settings, self.conn, self.report, self.collection = settings, conn, report, collection
        self.metadata, self.synthetic, self._fail = metadata, synthetic, fail

    def flush(self, batch: list[PreparedSource], embedder: Embedder) -> None:
        """Dedup, embed and write the batch, each source in its own transaction."""
        texts = [c.text for p in batch for c in p.chunks]
        fingerprints = [f for p in batch for f in p.chunk_fingerprints]
        ids = allocate_ids(self.conn, "chunks", len(texts))
        source_ids = allocate_ids(self.conn, "sources", len(batch))
        source_fingerprints = [p.fingerprint for p in batch]
        matches, originals = self._near_duplicate_sources(batch, source_ids, source_fingerprints, ids, fingerprints)
        decisions = self._chunk_duplicates(batch, ids, fingerprints, originals)
        vectors = iter(embedder.embed([t for t, d in zip(texts, decisions) if d is None]))
        decided = iter(zip(ids, fingerprints, decisions))
        for prepared, source_id, source_fingerprint, match in zip(batch, source_ids, source_fingerprints, matches):
            rows = [
                ChunkRow(chunk_id, chunk, fingerprint, duplicate, None if duplicate else next(vectors))
                for chunk, (chunk_id, fingerprint, duplicate) in zip(prepared.chunks, decided)
            ]
            row = self._source_row(prepared, source_id, source_fingerprint, match)
            self._write(prepared, row, rows, embedder)

    def _near_duplicate_sources(
        self,
        batch: list[PreparedSource],
        source_ids: list[int],
        source_fingerprints: list[Fingerprint],
        chunk_ids: list[int],
        chunk_fingerprints: list[Fingerprint],
    ) -> tuple[list[Duplicate | None], list[OriginalSource | None]]:
        """For each source of the batch, the source its whole text nearly duplicates (in the
        collection, or earlier in the batch) and that original's text and chunks, else None."""
        bands, known_chunks = known_source_originals(
            self.conn,
            self.collection,
            sorted({key for f in source_fingerprints for key in f.bands}),
            [p.replaces for p in batch if p.replaces],
        )
        shingles = {
            source_id: word_shingles(rebuild_text([(start, end, text) for _, start, end, text in rows]))
            for source_id, rows in known_chunks.items()
        }
        matches = find_duplicates(
            source_ids, source_fingerprints, {}, bands, shingles, self.settings.near_duplicate_threshold
        )
        starts = list(accumulate((len(p.chunks) for p in batch), initial=0))
        position = {source_id: k for k, source_id in enumerate(source_ids)}

        def original(source_id: int) -> OriginalSource:
            if source_id in position:  # an earlier source of this batch
                k = position[source_id]
                chunks = zip(chunk_ids[starts[k] : starts[k + 1]], chunk_fingerprints[starts[k] : starts[k + 1]])
                return OriginalSource(source_fingerprints[k].shingles, tuple((c, f.shingles) for c, f in chunks))
            chunks = [(chunk_id, text) for chunk_id, _, _, text in known_chunks[source_id] if chunk_id is not None]
            return OriginalSource(shingles[source_id], tuple((c, word_shingles(text)) for c, text in chunks))

        return matches, [original(m.original_id) if m else None for m in matches]

    def _chunk_duplicates(
        self,
        batch: list[PreparedSource],
        ids: list[int],
        fingerprints: list[Fingerprint],
        originals: list[OriginalSource | None],
    ) -> list[Duplicate | None]:
        """Each chunk's decision: a copy of a known or earlier chunk, contained in its source's
        original (when its source is a near duplicate), or None (new, to embed)."""
        exact, bands, texts_by_id = known_originals(
            self.conn,
            self.collection,
            [f.content_hash for f in fingerprints],
            sorted({key for f in fingerprints for key in f.bands}),
            [p.replaces for p in batch if p.replaces],
        )
        shingles = {chunk_id: word_shingles(text) for chunk_id, text in texts_by_id.items()}
        per_chunk = [original for prepared, original in zip(batch, originals) for _ in prepared.chunks]
        threshold = self.settings.near_duplicate_threshold
        return find_duplicates(ids, fingerprints, exact, bands, shingles, threshold, per_chunk)

    def _source_row(
        self, prepared: PreparedSource, source_id: int, fingerprint: Fingerprint, near_duplicate: Duplicate | None
    ) -> SourceRow:
        source = prepared.source
        return SourceRow(
            source_id,
            self.collection,
            source.uri,
            source.sha256,
            source.size_bytes,
            source.mime_type,
            {**self.metadata, **source.metadata, **prepared.metadata},
            self.synthetic,
            self.report.run_id,
            fingerprint,
            near_duplicate,
        )

    def _write(self, prepared: PreparedSource, row: SourceRow, rows: list[ChunkRow], embedder: Embedder) -> None:
        source = prepared.source
        try:
            with self.conn.transaction():
                removed = delete_sources(self.conn, [prepared.replaces], embedder.embed) if prepared.replaces else 0
                write_source(self.conn, row, rows)
        except psycopg.Error as exc:
            self._fail(source.uri, f"database write failed: {exc}".strip())
            return
        self.report.removed += removed
        self.report.changed += prepared.replaces is not None
        self.report.new += prepared.replaces is None
        self.report.added += len(rows)
        self.report.exact_duplicates += sum(1 for r in rows if r.duplicate and r.duplicate.kind == "exact")
        self.report.near_duplicates += sum(1 for r in rows if r.duplicate and r.duplicate.kind == "near")
        self.report.source_duplicates += sum(1 for r in rows if r.duplicate and r.duplicate.kind == "source")
        self.report.near_duplicate_sources += row.near_duplicate is not None

"""The ingest pipeline: discover -> clean -> chunk -> dedup -> embed -> write, streaming.

Sources are prepared (read, cleaned, chunked, fingerprinted) one by one on the calling thread
and flushed in batches of chunks, so the embedder sees full batches even when every source is
one short JSONL row. A flush (``ingest.flush``: dedup lookups, embed, write) runs on one writer
thread while the next batch is prepared: the database connection is used by that thread alone
while it runs, at most one batch waits, and chunking has a tokenizer of its own. Each source is
written in its own transaction; the FAISS index is reconciled from Postgres at the end, so a run
killed at any moment leaves a state the next run completes."""

import copy
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import psycopg
from tqdm import tqdm

from core.db import connection
from core.errors import InputError
from core.settings import Settings
from index.faiss_index import sync_index
from index.pgvector_index import ensure_pgvector_index
from ingest.chunking import chunk_text
from ingest.cleaning import ReadError, clean_pages, clean_text
from ingest.dedup import Fingerprinter
from ingest.discovery import Discovered, DuplicateInput, FailedInput, SkippedInput, SourceInput, discover, uri_patterns
from ingest.flush import BatchWriter, PreparedSource
from ingest.report import IngestReport
from ingest.runs import collection_id, finish_run, known_sources, lock_collection, start_run
from ingest.store import delete_sources
from models.embedder import Embedder, embedder_model_dir, load_embedder

FLUSH_BATCHES = 4  # embed this many embedder batches at once


class _Ingestor:
    """Holds one run's state: the pending batch, the counts, the known sources."""

    def __init__(
        self,
        settings: Settings,
        conn: psycopg.Connection,
        embedder: Embedder | None,
        report: IngestReport,
        collection: int,
        known: dict[str, tuple[int, str]],
        metadata: dict[str, str],
        synthetic: bool,
        writer: ThreadPoolExecutor,
    ):
        self.settings, self.conn, self._embedder, self.report, self.known = settings, conn, embedder, report, known
        self.fingerprinter = Fingerprinter(settings.near_duplicate_threshold)
        self.flush_size = settings.embed_batch_size * FLUSH_BATCHES
        self.pending: list[PreparedSource] = []
        self.pending_chunks = 0
        self.seen: set[str] = set()
        self._writer, self._flushing = writer, None  # the flush running on the writer thread
        self._report_lock = threading.Lock()  # failures are counted from both threads
        self._batches = BatchWriter(settings, conn, report, collection, metadata, synthetic, self._fail)
        self._chunk_tokenizer = None

    @property
    def embedder(self) -> Embedder:
        """Loaded on first use: a run where every source is unchanged never loads the model."""
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    @property
    def chunk_tokenizer(self):
        """A copy of the embedder's tokenizer: a fast tokenizer is not safe to share with the
        embedding running on the writer thread."""
        if self._chunk_tokenizer is None:
            self._chunk_tokenizer = copy.deepcopy(self.embedder.tokenizer)
        return self._chunk_tokenizer

    def _fail(self, uri: str, error: str) -> None:
        with self._report_lock:
            self.report.fail(uri, error)

    def take(self, item: Discovered) -> None:
        if isinstance(item, SkippedInput):
            self.report.skipped += 1
        elif isinstance(item, DuplicateInput):
            self.report.duplicates += 1
        elif isinstance(item, FailedInput):
            self.seen.add(item.uri)
            self._fail(item.uri, item.error)
        elif item.uri in self.seen:
            self._fail(item.uri, "the same source uri appears twice in this run (a repeated JSONL id?)")
        else:
            self.seen.add(item.uri)
            self._prepare(item)

    def _prepare(self, source: SourceInput) -> None:
        previous = self.known.get(source.uri)
        if previous and previous[1] == source.sha256:
            self.report.unchanged += 1
            return
        try:
            loaded = source.load()
            text, page_starts = clean_pages(loaded.pages) if loaded.paged else (clean_text(loaded.text), [])
            max_tokens = min(self.settings.chunk_tokens, self.embedder.max_tokens)
            overlap = min(self.settings.chunk_overlap, max_tokens // 2)
            chunks = chunk_text(text, self.chunk_tokenizer, max_tokens, overlap, page_starts) if text else []
            fingerprint, *chunk_fingerprints = self.fingerprinter.fingerprints([text] + [c.text for c in chunks])
        except ReadError as exc:
            self._fail(source.uri, str(exc))
            return
        except Exception as exc:  # a reader, parser or chunking bug fails this source alone, by name
            self._fail(source.uri, f"{type(exc).__name__}: {exc}")
            return
        if not chunks:
            self._fail(source.uri, "no text left after cleaning")
            return
        self.pending.append(
            PreparedSource(
                source,
                previous[0] if previous else None,
                fingerprint,
                chunks,
                chunk_fingerprints,
                loaded.metadata,
            )
        )
        self.pending_chunks += len(chunks)
        if self.pending_chunks >= self.flush_size:
            self._hand_over()

    def _hand_over(self) -> None:
        """Start flushing the pending batch on the writer thread, once the previous flush is
        done (its error, if any, is raised here)."""
        self.wait()
        batch, self.pending, self.pending_chunks = self.pending, [], 0
        if batch:
            # A batch holds chunks, so preparing it has loaded the embedder.
            self._flushing = self._writer.submit(self._batches.flush, batch, self.embedder)

    def wait(self) -> None:
        """Until the running flush is done; after it, this thread may use the connection."""
        flushing: Future | None = self._flushing
        self._flushing = None
        if flushing is not None:
            flushing.result()

    def finish(self) -> None:
        """Flush what is pending and wait for it."""
        self._hand_over()
        self.wait()

    def prune(self) -> None:
        """Delete the known sources under the given paths that this run did not find."""
        for uri, (source_id, _) in self.known.items():
            if uri not in self.seen:
                with self.conn.transaction():
                    self.report.removed += delete_sources(self.conn, [source_id], self.embedder.embed)
                self.report.pruned += 1


def ingest_paths(
    settings: Settings,
    paths: list[Path],
    *,
    collection: str,
    metadata: dict[str, str] | None = None,
    synthetic: bool = False,
    prune: bool = False,
    embedder: Embedder | None = None,
    show_progress: bool = True,
) -> IngestReport:
    """Ingest files and folders into ``collection``; see the module docstring."""
    _check_arguments(paths, collection)
    started = time.perf_counter()
    report = IngestReport()
    with connection(settings, autocommit=True) as conn:
        # A killed client loses nothing committed; a crash of the server itself may lose the
        # last commits, which the next run (idempotent) redoes.
        conn.execute("SET synchronous_commit TO off")
        collection_key = collection_id(conn, collection)
        lock_collection(conn, collection_key, collection)
        report.run_id = start_run(conn, collection_key, _parameters(settings, paths, synthetic, prune))
        known = known_sources(conn, collection_key, [p for path in paths for p in uri_patterns(path)])
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
                ingestor = _Ingestor(
                    settings, conn, embedder, report, collection_key, known, metadata or {}, synthetic, writer
                )
                _take_all(ingestor, _discovered(paths, settings.max_source_bytes), started, show_progress)
                ingestor.finish()
            if prune:
                ingestor.prune()
            report.index_build_id = sync_index(settings, conn, report.run_id)
            if settings.vector_backend == "pgvector":
                ensure_pgvector_index(conn)
        except Exception:
            # An error that stops the run (a database error) still leaves it a final status; the
            # sources committed so far stay. A kill or Ctrl-C leaves it 'running', and the next
            # run marks it 'interrupted'.
            report.seconds = time.perf_counter() - started
            finish_run(conn, report.run_id, report.to_json(), failed=True)
            raise
        report.seconds = time.perf_counter() - started
        finish_run(conn, report.run_id, report.to_json(), failed=report.failed > 0)
    return report


def _check_arguments(paths: list[Path], collection: str) -> None:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise InputError(f"path not found: {', '.join(missing)}; pass existing files or folders.")
    if not collection.strip():
        raise InputError("empty --collection; pass a name such as 'demo'.")


def _discovered(paths: list[Path], max_source_bytes: int) -> Iterator[Discovered]:
    """The sources under each path in turn; a file reached again through another path is a duplicate."""
    targets: set[Path] = set()
    return (item for path in paths for item in discover(path, targets, max_source_bytes))


def _take_all(ingestor: _Ingestor, items: Iterable[Discovered], started: float, show_progress: bool) -> None:
    """Hand every item to ``ingestor``, with a progress bar showing the chunks written per second."""
    bar = tqdm(items, desc="ingest", unit="source") if show_progress else items
    for item in bar:
        ingestor.take(item)
        if show_progress:
            rate = ingestor.report.added / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix(chunks_per_s=f"{rate:.0f}", refresh=False)


def _embedder_identity(settings: Settings) -> str:
    """What embedded the run: the remote engine's URL and model, or the local MiniLM folder."""
    if settings.embedder_url:
        return f"{settings.embedder_url} {settings.embedder_model}"
    return str(embedder_model_dir())


def _parameters(settings: Settings, paths: list[Path], synthetic: bool, prune: bool) -> dict[str, object]:
    return {
        "paths": [str(p.resolve()) for p in paths],
        "embedder": _embedder_identity(settings),
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap": settings.chunk_overlap,
        "near_duplicate_threshold": settings.near_duplicate_threshold,
        "synthetic": synthetic,
        "prune": prune,
    }

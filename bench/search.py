"""Search latency and throughput under concurrent clients, for every mode and both vector
backends, with each HNSW's recall@10 against exact search (numpy, over the same vectors)
beside its latency, at several ``ef_search`` values.

Builds a fresh data dir with its own embedded Postgres, COPYs ``--chunks`` synthetic chunks
into it (Zipf-distributed words; vectors drawn around random cluster centres, as real
embeddings cluster) and the same vectors into the FAISS index, then runs ``--clients``
threads against one ``HybridSearcher`` per backend. Queries are embedded by a stand-in that draws
from the same mixture (so HNSW recall is measured on in-distribution queries); ``--minilm``
adds rows where the real MiniLM embeds each query text, which is what a user's search costs.
Every search goes through ``HybridSearcher.search``, the served path: concurrent queries share
embedder forwards (``retrieval.query_embedder``) and repeated queries come from its cache. Each
row starts with an empty cache (cleared after the untimed warm-up), so a row's cache hits are the
repeats within the bench's own query set only, not earlier rows' queries (random 2-5 word
queries: next to none repeat, so the figures measure the batching, not the cache); each row
reports its ``cache_hit_rate`` and ``queries_per_forward``. ``hybrid_x_slower_side`` is each hybrid p50 over
the slower of BM25 and the same dense row.
Progress lines go to stderr, the report (JSON) to stdout.

Run from the repository root:  .venv/bin/python -m bench.search [--chunks 100000] [--clients 8]"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np

from core.db import connection
from core.settings import Settings
from index.faiss_index import FaissIndex
from index.pgvector_index import ensure_pgvector_index
from retrieval.searcher import open_searcher

DIM = 384
VOCABULARY = 30_000
WORDS_PER_CHUNK = 100
CHUNKS_PER_SOURCE = 100
CENTRES = 2_000


class MixtureEmbedder:
    """Maps a text to a point of the corpus' vector mixture, chosen by the text's hash."""

    def __init__(self, centres: np.ndarray, spread: float):
        self.centres, self.spread = centres, spread

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            rng = np.random.default_rng(zlib.crc32(text.encode()))
            rows.append(self.centres[rng.integers(len(self.centres))] + self.spread * rng.standard_normal(DIM))
        return _unit(np.array(rows, dtype=np.float32))


def _unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def _words(rng: np.random.Generator, count: int) -> np.ndarray:
    weights = 1.0 / (np.arange(VOCABULARY) + 10.0)
    return rng.choice(VOCABULARY, size=count, p=weights / weights.sum())


def load_corpus(
    settings: Settings, chunks: int, rng: np.random.Generator, embedder: MixtureEmbedder
) -> tuple[dict, np.ndarray]:
    """COPY the synthetic corpus into Postgres (HNSW built after the load) and FAISS; return
    the build times and the vectors (row i is chunk i + 1)."""
    timings = {}
    started = time.perf_counter()
    words = _words(rng, chunks * WORDS_PER_CHUNK).reshape(chunks, WORDS_PER_CHUNK)
    centres = rng.integers(len(embedder.centres), size=chunks)
    vectors = _unit(embedder.centres[centres] + embedder.spread * rng.standard_normal((chunks, DIM)).astype(np.float32))
    sources = (chunks + CHUNKS_PER_SOURCE - 1) // CHUNKS_PER_SOURCE
    with connection(settings) as conn:
        collection = conn.execute("INSERT INTO collections (name) VALUES ('bench') RETURNING id").fetchone()[0]
        with conn.cursor().copy(
            "COPY sources (id, collection_id, uri, sha256, size_bytes, mime_type, metadata, synthetic) FROM STDIN"
        ) as copy:
            for s in range(1, sources + 1):
                copy.write_row(
                    (s, collection, f"bench://doc/{s}", "x", 1, "text/plain", json.dumps({"shard": str(s % 10)}), True)
                )
        with conn.cursor(binary=True).copy(
            "COPY chunks (id, source_id, ordinal, char_start, char_end, text, token_count, content_hash, embedding)"
            " FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["int8", "int8", "int4", "int4", "int4", "text", "int4", "text", "vector"])
            for i in range(chunks):
                text = " ".join(f"w{w}" for w in words[i])
                row = (i + 1, i // CHUNKS_PER_SOURCE + 1, i % CHUNKS_PER_SOURCE, 0, len(text), text, WORDS_PER_CHUNK)
                copy.write_row((*row, f"{i}", vectors[i]))
        conn.commit()
        timings["copy_s"] = time.perf_counter() - started
        started = time.perf_counter()
        ensure_pgvector_index(conn)
        timings["pgvector_hnsw_build_s"] = time.perf_counter() - started
        started = time.perf_counter()
        index = FaissIndex.load(settings)
        index.add(np.arange(1, chunks + 1), vectors)
        timings["faiss_hnsw_build_s"] = time.perf_counter() - started
        index.save(conn, None)
    return {k: round(v, 1) for k, v in timings.items()}, vectors


def query_texts(rng: np.random.Generator, count: int) -> list[str]:
    return [" ".join(f"w{w}" for w in _words(rng, int(rng.integers(2, 6)))) for _ in range(count)]


def _search(searcher, mode: str, query: str):
    return searcher.search(query, k=10, mode=mode)


def measure(search, queries: list[str], clients: int, query_embedder=None) -> dict:
    """p50/p95 latency (ms) and throughput of ``search`` over ``queries`` from ``clients`` threads;
    with the searcher's ``query_embedder``, its cache emptied before the timed pass and the cache
    hit rate and mean queries per embedder forward of that pass."""

    def timed(query: str) -> float:
        started = time.perf_counter()
        search(query)
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(search, queries[: 2 * clients]))  # lazy loads and connections, untimed
        if query_embedder is not None:
            query_embedder.cache_clear()
        started = time.perf_counter()
        latencies = sorted(pool.map(timed, queries))
    wall = time.perf_counter() - started
    figures = {
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        "qps": round(len(queries) / wall, 1),
    }
    cache = query_embedder.cache_info() if query_embedder is not None else {}
    if cache.get("hits", 0) + cache.get("misses", 0):  # the mode embedded queries
        figures["cache_hit_rate"] = round(cache["hits"] / (cache["hits"] + cache["misses"]), 3)
        figures["queries_per_forward"] = round(cache["misses"] / max(cache["forwards"], 1), 2)
    return figures


def hybrid_x_slower_side(rows: dict) -> dict:
    """Each hybrid row's p50 over the slower of the BM25 row and the dense row of its backend and embedder."""
    ratios = {}
    for label, figures in rows.items():
        dense = rows.get(label.replace("hybrid", "dense", 1))
        if label.startswith("hybrid") and dense and "bm25" in rows:
            ratios[label] = round(figures["p50_ms"] / max(rows["bm25"]["p50_ms"], dense["p50_ms"]), 2)
    return ratios


def hnsw_recall(vectors: np.ndarray, embedder: MixtureEmbedder, approximate, queries: list[str], k: int = 10) -> float:
    """Mean share of the exact top-k (inner product over every vector) that the approximate
    search also returns."""
    overlaps = []
    for query in queries:
        truth = set((np.argsort(-(vectors @ embedder.embed([query])[0]))[:k] + 1).tolist())
        found = {h.chunk_id for h in approximate.search(query, k=k, mode="dense")}
        overlaps.append(len(truth & found) / k)
    return round(sum(overlaps) / len(overlaps), 4)


def run(args: argparse.Namespace, settings: Settings) -> dict:
    rng = np.random.default_rng(args.seed)
    embedder = MixtureEmbedder(_unit(rng.standard_normal((CENTRES, DIM)).astype(np.float32)), spread=0.06)
    report = {"chunks": args.chunks, "clients": args.clients, "queries": args.queries}
    report["load"], vectors = load_corpus(settings, args.chunks, rng, embedder)
    queries = query_texts(rng, args.queries)
    rows = {}
    embedders = {"stand-in": embedder}
    if args.minilm:
        from models.embedder import load_embedder

        embedders["minilm"] = load_embedder(settings)
    for name, query_embedder in embedders.items():
        suffix = "" if name == "stand-in" else " +minilm"
        for backend in ("faiss", "pgvector"):
            backend_settings = settings.model_copy(update={"vector_backend": backend})
            with open_searcher(backend_settings, embedder=query_embedder) as searcher:
                started = time.perf_counter()
                searcher.search(queries[0], mode="bm25")
                report.setdefault("bm25_load_s", round(time.perf_counter() - started, 1))
                modes = ("dense", "hybrid") if backend == "pgvector" or suffix else ("bm25", "dense", "hybrid")
                for mode in modes:
                    label = mode if mode == "bm25" else f"{mode} ({backend}){suffix}"
                    rows[label] = measure(partial(_search, searcher, mode), queries, args.clients, searcher.embedder)
                    print(f"{label:<28}{json.dumps(rows[label])}", file=sys.stderr, flush=True)
    report["hnsw"] = {}
    for backend in ("faiss", "pgvector"):
        for ef in args.ef_search:
            hnsw_settings = settings.model_copy(update={"vector_backend": backend, "hnsw_ef_search": ef})
            with open_searcher(hnsw_settings, embedder=embedder) as approximate:
                search = partial(_search, approximate, "dense")
                figures = measure(search, queries, args.clients, approximate.embedder)
                figures["recall@10"] = hnsw_recall(vectors, embedder, approximate, queries[:200])
                label = f"{backend} ef_search={ef}"
                report["hnsw"][label] = figures
                print(f"{label:<28}{json.dumps(figures)}", file=sys.stderr, flush=True)
    report["latency"] = rows
    report["hybrid_x_slower_side"] = hybrid_x_slower_side(rows)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--queries", type=int, default=400, help="timed searches per mode")
    parser.add_argument("--ef-search", type=int, nargs="+", default=[20, 40, 100])
    parser.add_argument("--minilm", action="store_true", help="also time searches that embed with MiniLM")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rag-bench-search-") as tmp:
        report = run(args, Settings(data_dir=Path(tmp) / "data", database_url=None))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

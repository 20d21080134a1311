"""Ingest throughput against the embedder's raw throughput, measured in the same run.

Ingests a JSONL corpus (default: Cranfield, chunked small to give > 5,000 chunks) into a
fresh data dir with its own embedded Postgres, then embeds the same chunk texts with the
embedder alone, and prints both rates, their ratio and the peak RSS. It also times the
embedder inside the pipeline: on a machine shared with other jobs the load changes between
the two passes, while the embedder's share of the pipeline's own wall time does not care.

With ``--single-line-mb 5 20``, it also ingests one single-line text file of each size (the
corpus's words run together, no newline) in a child process of its own, and prints that
process's peak RSS before and after the ingest: memory bounded by the file, whatever its
shape, and the file bounded by RAG_MAX_SOURCE_BYTES.

Run from the repository root:
    .venv/bin/python -m bench.ingest [--rows N] [--chunk-tokens 64] [--single-line-mb 5 20]"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core.db import connection
from core.settings import Settings
from ingest.pipeline import FLUSH_BATCHES, ingest_paths
from models.embedder import Embedder, load_embedder

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cranfield" / "corpus.jsonl"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _corpus(source: Path, rows: int | None, folder: Path) -> Path:
    """The first ``rows`` lines of ``source`` (all when None), as a file of its own."""
    target = folder / "corpus.jsonl"
    with source.open("rb") as lines, target.open("wb") as out:
        for number, line in enumerate(lines):
            if rows is not None and number >= rows:
                break
            out.write(line)
    return target


class TimedEmbedder:
    """The embedder, with the wall time spent in ``embed`` added up."""

    def __init__(self, embedder: Embedder):
        self._embedder = embedder
        self.tokenizer, self.dimension = embedder.tokenizer, embedder.dimension
        self.model_dir, self.max_tokens = embedder.model_dir, embedder.max_tokens
        self.seconds = 0.0

    def embed(self, texts: list[str]):
        started = time.perf_counter()
        vectors = self._embedder.embed(texts)
        self.seconds += time.perf_counter() - started
        return vectors


def _ready(settings: Settings) -> Embedder:
    """The warmed-up embedder, with the embedded server started: both outside what is measured."""
    embedder = load_embedder(settings)
    embedder.embed(["warm up the model"] * settings.embed_batch_size)
    with connection(settings) as conn:
        conn.execute("SELECT 1")
    return embedder


def _single_line_file(corpus: Path, megabytes: float, folder: Path) -> Path:
    """The corpus's texts joined by spaces, repeated to ``megabytes``, as one line."""
    words = " ".join(json.loads(line)["text"] for line in corpus.open(encoding="utf-8")).encode()
    target, size = folder / "single-line.txt", int(megabytes * 1_000_000)
    with target.open("wb") as out:
        for _ in range(size // len(words)):
            out.write(words + b" ")
        out.write(words[: size % len(words)])
    return target


def single_line_case(corpus: Path, megabytes: float) -> dict[str, object]:
    """In this (child) process: ingest one single-line file; its peak RSS before and after."""
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", database_url=None)
        path = _single_line_file(corpus, megabytes, Path(tmp))
        embedder = _ready(settings)
        before = _peak_rss_mib()
        report = ingest_paths(settings, [path], collection="bench", embedder=embedder, show_progress=False)
        after = _peak_rss_mib()
    return {
        "file_mb": megabytes,
        "chunks": report.added,
        "seconds": round(report.seconds, 1),
        "peak_rss_mib_before": round(before),
        "peak_rss_mib_after": round(after),
        "growth_mib_per_input_mb": round((after - before) / megabytes, 1),
    }


def _in_child(corpus: Path, megabytes: float) -> dict[str, object]:
    command = [sys.executable, "-m", "bench.ingest", "--corpus", str(corpus), "--child-single-line-mb", str(megabytes)]
    return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


def _raw_embed_rate(embedder: Embedder, texts: list[str], flush: int) -> float:
    """Chunks per second of the embedder alone, on ``texts`` in the pipeline's flush sizes."""
    started = time.perf_counter()
    for start in range(0, len(texts), flush):
        embedder.embed(texts[start : start + flush])
    return len(texts) / (time.perf_counter() - started)


def throughput(source: Path, rows: int | None, chunk_tokens: int, chunk_overlap: int) -> dict[str, object]:
    """Ingest the first ``rows`` of ``source`` into a fresh data dir, then embed its searchable
    chunks with the embedder alone: both rates, their ratio, the embedder's share of the
    pipeline's wall time and the peak RSS."""
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data",
            database_url=None,
            chunk_tokens=chunk_tokens,
            chunk_overlap=chunk_overlap,
        )
        corpus = _corpus(source, rows, Path(tmp))
        embedder = _ready(settings)
        rss_before = _peak_rss_mib()

        timed = TimedEmbedder(embedder)
        report = ingest_paths(settings, [corpus], collection="bench", embedder=timed, show_progress=False)
        with connection(settings) as conn:
            texts = [r[0] for r in conn.execute("SELECT text FROM chunks WHERE embedding IS NOT NULL ORDER BY id")]
        pipeline_rate = len(texts) / report.seconds
        rss_pipeline = _peak_rss_mib()

        raw_rate = _raw_embed_rate(embedder, texts, settings.embed_batch_size * FLUSH_BATCHES)

    return {
        "sources": report.new,
        "chunks": report.added,
        "embedded_chunks": len(texts),
        "exact_duplicates": report.exact_duplicates,
        "near_duplicates": report.near_duplicates,
        "pipeline_seconds": round(report.seconds, 2),
        "pipeline_chunks_per_s": round(pipeline_rate, 1),
        "raw_embedder_chunks_per_s": round(raw_rate, 1),
        "ratio": round(pipeline_rate / raw_rate, 3),
        "embedder_share_of_pipeline_wall_time": round(timed.seconds / report.seconds, 3),
        "peak_rss_mib_before_ingest": round(rss_before),
        "peak_rss_mib_after_ingest": round(rss_pipeline),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="a BEIR corpus.jsonl")
    parser.add_argument("--rows", type=int, default=None, help="use only the first N rows")
    parser.add_argument("--chunk-tokens", type=int, default=64)
    parser.add_argument("--chunk-overlap", type=int, default=8)
    parser.add_argument("--single-line-mb", type=float, nargs="*", default=[], help="single-line file sizes to ingest")
    parser.add_argument("--child-single-line-mb", type=float, help=argparse.SUPPRESS)
    return parser


def main() -> None:
    args = _parser().parse_args()
    if args.child_single_line_mb:
        print(json.dumps(single_line_case(args.corpus, args.child_single_line_mb)))
        return
    result = throughput(args.corpus, args.rows, args.chunk_tokens, args.chunk_overlap)
    result["single_line_files"] = [_in_child(args.corpus, megabytes) for megabytes in args.single_line_mb]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

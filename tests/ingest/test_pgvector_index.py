"""The pgvector HNSW index exists only where the pgvector backend is used: built by the first
pgvector searcher or a pgvector ingest, and not by a FAISS ingest."""

from index.pgvector_index import INDEX_NAME, ensure_pgvector_index
from ingest.pipeline import ingest_paths
from retrieval.searcher import open_searcher
from tests.ingest.conftest import write


def _has_index(conn) -> bool:
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (INDEX_NAME,)).fetchone()[0]


def test_a_faiss_ingest_keeps_no_pgvector_index_and_a_pgvector_searcher_builds_it(
    small_settings, conn, fake_embedder, tmp_path
):
    write(tmp_path / "docs" / "a.txt", "Reciprocal rank fusion merges a keyword list and a vector list.")
    ingest_paths(small_settings, [tmp_path / "docs"], collection="docs", embedder=fake_embedder, show_progress=False)
    assert not _has_index(conn)

    settings = small_settings.model_copy(update={"vector_backend": "pgvector"})
    searcher = open_searcher(settings, fake_embedder)
    try:
        hits = searcher.search("rank fusion", k=1, mode="dense")
    finally:
        searcher.close()
    conn.rollback()  # a new transaction, to see the catalog as it is now
    assert _has_index(conn) and hits[0].source.endswith("a.txt")
    assert ensure_pgvector_index(conn) is False  # already there: nothing to build


def test_a_pgvector_ingest_builds_the_index(small_settings, conn, fake_embedder, tmp_path):
    write(tmp_path / "docs" / "a.txt", "Dataset versioning records the exact bytes of every training file.")
    settings = small_settings.model_copy(update={"vector_backend": "pgvector"})
    ingest_paths(settings, [tmp_path / "docs"], collection="docs", embedder=fake_embedder, show_progress=False)
    assert _has_index(conn)

"""``rag delete`` against a real Postgres: sources, chunks and vectors go from both stores,
a duplicate inherits a deleted original's place, status counts follow."""

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from index.faiss_index import FaissIndex
from ingest.delete import delete_from_collection
from ingest.pipeline import ingest_paths
from ingest.status import ingest_status
from retrieval.searcher import open_searcher
from tests.ingest.conftest import assert_stores_agree, write

TEXT = "Reciprocal rank fusion merges a keyword list and a vector list into one ranking of documents."


def _ingest(settings, embedder, folder, collection):
    return ingest_paths(settings, [folder], collection=collection, embedder=embedder, show_progress=False)


def test_delete_by_prefix_promotes_the_copy_and_keeps_stores_in_step(small_settings, conn, fake_embedder, tmp_path):
    folder = tmp_path / "docs"
    write(folder / "old" / "a.txt", TEXT)
    write(folder / "keep" / "copy.txt", TEXT)
    write(folder / "keep" / "b.txt", "Dataset versioning records the exact bytes of every training file.")
    write(tmp_path / "other" / "c.txt", TEXT + " Another collection keeps its own copy.")
    _ingest(small_settings, fake_embedder, folder / "old", "docs")  # first: the original
    _ingest(small_settings, fake_embedder, folder / "keep", "docs")
    _ingest(small_settings, fake_embedder, tmp_path / "other", "other")
    old_prefix = str((folder / "old").resolve())
    copy_uri = conn.execute("SELECT uri FROM sources WHERE uri LIKE '%%copy.txt'").fetchone()[0]
    assert (
        conn.execute(
            "SELECT count(*) FROM chunks c JOIN sources s ON s.id = c.source_id"
            " WHERE s.uri = %s AND c.embedding IS NULL",
            (copy_uri,),
        ).fetchone()[0]
        > 0
    )

    report = delete_from_collection(small_settings, "docs", [old_prefix], fake_embedder)

    assert (report.sources, report.index_build_id is not None) == (1, True)
    assert conn.execute("SELECT count(*) FROM sources WHERE uri LIKE %s", (old_prefix + "%",)).fetchone()[0] == 0
    assert (
        conn.execute(
            "SELECT count(*) FROM chunks c JOIN sources s ON s.id = c.source_id"
            " WHERE s.uri = %s AND c.embedding IS NULL",
            (copy_uri,),
        ).fetchone()[0]
        == 0
    )
    assert_stores_agree(small_settings, conn)
    counts = {c["name"]: c for c in ingest_status(conn, small_settings)["collections"]}
    assert counts["docs"]["sources"] == 2 and counts["other"]["sources"] == 1
    assert (
        counts["docs"]["chunks"]
        == conn.execute(
            "SELECT count(*) FROM chunks c JOIN sources s ON s.id = c.source_id"
            " JOIN collections k ON k.id = s.collection_id"
            " WHERE k.name = 'docs'"
        ).fetchone()[0]
    )


@pytest.mark.parametrize("backend", ["faiss", "pgvector"])
def test_a_running_searcher_stops_finding_what_was_deleted(small_settings, conn, fake_embedder, tmp_path, backend):
    settings = small_settings.model_copy(update={"vector_backend": backend, "index_refresh_seconds": 0})
    write(tmp_path / "old" / "a.txt", TEXT)
    write(tmp_path / "keep" / "copy.txt", TEXT)
    write(tmp_path / "keep" / "b.txt", "Dataset versioning records the exact bytes of every training file.")
    _ingest(settings, fake_embedder, tmp_path / "old", "docs")
    _ingest(settings, fake_embedder, tmp_path / "keep", "docs")
    searcher = open_searcher(settings, fake_embedder)
    try:

        def sources(mode):
            return {hit.source.rsplit("/", 1)[-1] for hit in searcher.search(TEXT, k=5, mode=mode)}

        assert "a.txt" in sources("dense") and "a.txt" in sources("bm25")
        delete_from_collection(settings, "docs", [str((tmp_path / "old").resolve())], fake_embedder)
        for mode in ("dense", "bm25", "hybrid"):
            assert "a.txt" not in sources(mode) and "copy.txt" in sources(mode), mode  # the copy took its place
    finally:
        searcher.close()


def test_cli_deletes_a_whole_collection_as_json(small_settings, conn, fake_embedder, tmp_path, monkeypatch):
    write(tmp_path / "docs" / "a.txt", TEXT)
    _ingest(small_settings, fake_embedder, tmp_path / "docs", "docs")
    monkeypatch.setenv("RAG_DATABASE_URL", small_settings.database_url)
    monkeypatch.setenv("RAG_DATA_DIR", str(small_settings.data_dir))
    result = CliRunner().invoke(app, ["delete", "--collection", "docs", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["sources"] == 1
    assert conn.execute("SELECT count(*) FROM chunks").fetchone()[0] == 0
    assert FaissIndex.load_verified(small_settings, conn).ntotal == 0

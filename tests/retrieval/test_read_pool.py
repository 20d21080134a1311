"""The searcher reads through its read pool and writes through its primary pool. The "replica"
here is a copy of the test database that differs from it on purpose: every chunk's text is
prefixed and one chunk lost its vector, so each read shows which database answered it."""

import psycopg
import pytest
from pgvector.psycopg import register_vector
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from core.db import open_pool
from index.pgvector_index import INDEX_NAME
from retrieval.filters import collection_filter
from retrieval.searcher import HybridSearcher, open_searcher

PREFIX = "copy: "


@pytest.fixture
def tuned(settings):
    return settings.model_copy(update={"pool_size": 2})


@pytest.fixture
def unvectored(corpus):
    """The chunk (in collection 'alpha') whose vector the copy drops."""
    return next(chunk_id for chunk_id, (row, _, _) in corpus.items() if row["collection"] == "alpha")


@pytest.fixture
def copy_url(pg_server, settings, conn, corpus, unvectored):
    """A copy of the test database, made after the corpus was written: its texts prefixed and
    the vector of ``unvectored`` gone."""
    conn.close()  # CREATE DATABASE ... TEMPLATE needs the source without connections
    source = conninfo_to_dict(settings.database_url)["dbname"]
    name = f"{source}_copy"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    url = pg_server.get_uri(name)
    with psycopg.connect(url) as copy:
        copy.execute("UPDATE chunks SET text = %s || text", (PREFIX,))
        copy.execute("UPDATE chunks SET embedding = NULL WHERE id = %s", (unvectored,))
    yield url
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def split_searcher(request, tuned, copy_url, hash_embedder):
    """A searcher writing to the test database and reading from its copy."""
    settings = tuned.model_copy(update={"vector_backend": getattr(request, "param", "faiss")})
    primary = open_pool(settings)
    read = ConnectionPool(copy_url, min_size=1, max_size=2, configure=register_vector, open=True)
    with HybridSearcher(settings, primary, hash_embedder, read_pool=read, owned=(primary, read)) as searcher:
        yield searcher


def _scalar(url: str, sql: str, params=()):
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_hits_are_hydrated_and_filtered_from_the_read_pool(split_searcher, corpus, unvectored, settings, copy_url):
    text = corpus[unvectored][1]
    hits = split_searcher.search(text, k=5, mode="bm25")
    assert hits[0].chunk_id == unvectored  # the BM25 index is built from the primary's rows...
    assert all(hit.text.startswith(PREFIX) for hit in hits)  # ...the hits are read from the copy
    alpha = [collection_filter(["alpha"])]
    for mode in ("bm25", "dense", "hybrid"):  # allowed ids come from the copy, where it has no vector
        assert unvectored not in [hit.chunk_id for hit in split_searcher.search(text, k=5, mode=mode, filters=alpha)]
    assert split_searcher.search(text, k=1, mode="dense")[0].scores["dense"] is None  # FAISS has it; the copy not
    bm25_builds = "SELECT count(*) FROM index_builds WHERE kind = 'bm25'"
    assert (_scalar(settings.database_url, bm25_builds), _scalar(copy_url, bm25_builds)) == (1, 0)


@pytest.mark.parametrize("split_searcher", ["pgvector"], indirect=True)
def test_pgvector_searches_the_read_pool_and_builds_its_index_on_the_primary(
    split_searcher, corpus, unvectored, settings, copy_url
):
    text = corpus[unvectored][1]
    hits = split_searcher.search(text, k=5, mode="dense")
    assert hits and unvectored not in [hit.chunk_id for hit in hits]
    exists = "SELECT to_regclass(%s) IS NOT NULL"
    assert _scalar(settings.database_url, exists, (INDEX_NAME,)) and not _scalar(copy_url, exists, (INDEX_NAME,))


def test_open_searcher_reads_through_the_replica_url(tuned, copy_url, corpus, hash_embedder):
    settings = tuned.model_copy(update={"database_replica_url": copy_url})
    with open_searcher(settings, hash_embedder) as searcher:
        hits = searcher.search("shock boundary layer", k=3)
        assert hits and all(hit.text.startswith(PREFIX) for hit in hits)
        readers = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s"
        assert _scalar(copy_url, readers, ("rag-read",)) >= 1
        assert _scalar(settings.database_url, readers, ("rag-read",)) == 0


def test_without_a_replica_url_reads_share_the_primary_pool(tuned, corpus, hash_embedder):
    with open_searcher(tuned, hash_embedder) as searcher:
        assert searcher._read_pool is searcher._pool and searcher._owned == (searcher._pool,)
        assert not searcher.search("shock boundary layer", k=3)[0].text.startswith(PREFIX)

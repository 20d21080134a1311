"""What only ``HybridSearcher`` does: its hits' fields and scores per mode, its argument checks,
concurrent searches, and picking up a newer index build. The ``Searcher`` promises it shares
with the stand-in are the shared suite in test_searcher_contract.py."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from core.errors import InputError
from index.faiss_index import FaissIndex
from retrieval.searcher import open_searcher


@pytest.fixture(params=["faiss", "pgvector"])
def searcher(request, settings, corpus, hash_embedder):
    tuned = settings.model_copy(update={"vector_backend": request.param, "index_refresh_seconds": 0})
    with open_searcher(tuned, embedder=hash_embedder) as opened:
        yield opened


def test_hybrid_hits_carry_text_source_span_and_both_scores(searcher, corpus):
    hits = searcher.search("shock boundary layer", k=6)
    assert len(hits) == 6
    assert 0 < hits[-1].score <= hits[0].score <= 1
    for hit in hits:
        row, text, vector = corpus[hit.chunk_id]
        assert (hit.source, hit.collection, hit.text, hit.metadata) == (
            row["uri"],
            row["collection"],
            text,
            row["metadata"],
        )
        assert hit.span[1] - hit.span[0] == len(text)
        assert hit.scores["dense"] == pytest.approx(float(vector @ searcher.embed("shock boundary layer")), abs=1e-5)
    assert any(h.scores["bm25"] for h in hits)
    document = hits[0].to_json()
    assert set(document) == {"chunk_id", "source", "collection", "text", "span", "metadata", "score", "scores", "pages"}
    assert isinstance(document["span"], list) and set(document["scores"]) == {"bm25", "dense"}


def test_single_modes_report_their_own_score(searcher):
    dense = searcher.search("nozzle flow", k=3, mode="dense")
    assert [h.score for h in dense] == pytest.approx([h.scores["dense"] for h in dense], abs=1e-5)
    keyword = searcher.search("nozzle flow", k=3, mode="bm25")
    assert [h.score for h in keyword] == [h.scores["bm25"] for h in keyword]
    assert all(h.scores["dense"] is None for h in keyword)


def test_bad_arguments_are_named(searcher):
    with pytest.raises(InputError, match="'hybird'.*hybrid, bm25, dense"):
        searcher.search("wing", mode="hybird")
    with pytest.raises(InputError, match="k must be at least 1"):
        searcher.search("wing", k=0)
    with pytest.raises(InputError, match="query is empty"):
        searcher.search("  ")


def test_concurrent_searches_agree_with_sequential_ones(searcher):
    queries = ["wing lift", "heat flux", "cone plate", "vortex nozzle"] * 4
    expected = [[h.chunk_id for h in searcher.search(q, k=5)] for q in queries]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda q: [h.chunk_id for h in searcher.search(q, k=5)], queries))
    assert found == expected


def test_a_newer_index_build_is_picked_up_without_restart(searcher, settings, conn, hash_embedder):
    assert searcher.search("zeppelin", k=3, mode="bm25") == []
    source_id = conn.execute("SELECT min(id) FROM sources").fetchone()[0]
    vector = hash_embedder.embed(["zeppelin"])[0]
    chunk_id = conn.execute(
        "INSERT INTO chunks (source_id, ordinal, char_start, char_end, text, token_count, content_hash, embedding)"
        " VALUES (%s, 5, 0, 8, 'zeppelin', 1, 'z', %s) RETURNING id",
        (source_id, vector),
    ).fetchone()[0]
    conn.commit()
    index = FaissIndex.load(settings)
    index.add(np.array([chunk_id]), vector[None, :])
    index.save(conn, None)
    assert [h.chunk_id for h in searcher.search("zeppelin", k=1, mode="bm25")] == [chunk_id]
    assert [h.chunk_id for h in searcher.search("zeppelin", k=1)] == [chunk_id]

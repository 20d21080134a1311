"""The shared suite of the ``Retriever`` Protocol (``RetrieverContract``), which every retriever
passes: at most ``k`` distinct chunks, best first; filters applied inside (so ``k`` matching
results still come back) with their values treated as data. ``DenseContract`` adds the dense
side's promise: the two dense backends return the exact cosine top-k. Both HNSW graphs (FAISS
and pgvector) are approximate in general: on this 48-vector corpus with ef_search = 100 the
graph search visits every vector, so it is exact here; on large corpora their recall@10 is
measured by bench/search.py."""

from functools import partial

import numpy as np
import pytest

from index.bm25_store import load_bm25
from index.faiss_index import FaissIndex
from retrieval.allowed import AllowedIds
from retrieval.dense import FaissRetriever, PgvectorRetriever
from retrieval.filters import collection_filter, metadata_filter, synthetic_filter, uri_prefix_filter
from retrieval.keyword import Bm25Retriever

QUERIES = ["wing lift", "shock boundary layer heat", "nozzle", "vortex cone plate pressure flow"]

# (filters, predicate on a source row) pairs; the last three try to break out of their values.
FILTER_CASES = {
    "collection": ([collection_filter(["beta"])], lambda r: r["collection"] == "beta"),
    "collections and lang": (
        [collection_filter(["alpha", "beta"]), metadata_filter("lang", ["de"])],
        lambda r: r["metadata"]["lang"] == "de",
    ),
    "uri prefix": ([uri_prefix_filter(["file:///docs/b/"])], lambda r: r["uri"].startswith("file:///docs/b/")),
    "synthetic": ([synthetic_filter(True)], lambda r: r["synthetic"]),
    "team in, real": (
        [metadata_filter("team", ["a", "c"]), synthetic_filter(False)],
        lambda r: r["metadata"]["team"] in "ac" and not r["synthetic"],
    ),
    "numeric metadata": ([metadata_filter("n", ["3", "17"])], lambda r: r["metadata"]["n"] in (3, 17)),
    "injection value stored as data": ([metadata_filter("note", ["x' OR '1'='1"])], lambda r: r["metadata"]["n"] == 5),
    "injection value": ([metadata_filter("lang", ["en' OR '1'='1"])], lambda r: False),
    "like wildcard is literal": ([uri_prefix_filter(["file:///docs/%"])], lambda r: False),
}


def _exact_dense(corpus, vector, k, predicate=lambda r: True):
    scored = [(cid, float(v @ vector)) for cid, (row, _, v) in corpus.items() if predicate(row)]
    return sorted(scored, key=lambda p: (-p[1], p[0]))[:k]


def _allowed(pool):
    return partial(AllowedIds(pool).ids, stamp=1)


class RetrieverContract:
    """What every ``Retriever`` promises, over the ``corpus`` fixture. A subclass gives the
    ``retriever`` fixture; ``fills_k`` says whether ``k`` matching chunks always come back
    (BM25 returns only chunks sharing a term with the query)."""

    fills_k = True

    @pytest.fixture
    def retriever(self):
        raise NotImplementedError

    @pytest.mark.parametrize("case", list(FILTER_CASES))
    def test_filters_apply_inside(self, retriever, corpus, case):
        filters, predicate = FILTER_CASES[case]
        matching = {cid for cid, (row, _, _) in corpus.items() if predicate(row)}
        for query in QUERIES:
            found = [cid for cid, _ in retriever.search(query, 5, filters)]
            assert set(found) <= matching
            if self.fills_k:
                assert len(found) == min(5, len(matching))

    def test_at_most_k_distinct_chunks_best_first(self, retriever):
        for query in QUERIES:
            for k in (1, 3, 10):
                found = retriever.search(query, k)
                assert 0 < len(found) <= k and len({cid for cid, _ in found}) == len(found)
                assert all(isinstance(cid, int) and isinstance(score, float) for cid, score in found)
                assert np.all(np.diff([score for _, score in found]) <= 0)

    def test_never_returns_a_chunk_without_a_vector(self, retriever, corpus):
        found = {cid for query in QUERIES for cid, _ in retriever.search(query, 48)}
        assert found and found <= set(corpus)


class DenseContract(RetrieverContract):
    """What a ``retrieval.dense.DenseRetriever`` adds: the exact cosine top-k (see the module
    docstring for why an HNSW graph is exact here), by query or by vector."""

    def test_top_k_is_the_exact_cosine_top_k(self, retriever, corpus, hash_embedder):
        for query in QUERIES:
            expected = _exact_dense(corpus, hash_embedder.embed([query])[0], 7)
            found = retriever.search(query, 7)
            assert [cid for cid, _ in found] == [cid for cid, _ in expected]
            assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)

    @pytest.mark.parametrize("case", ["collection", "team in, real", "numeric metadata"])
    def test_filtered_top_k_is_the_exact_filtered_top_k(self, retriever, corpus, hash_embedder, case):
        filters, predicate = FILTER_CASES[case]
        vector = hash_embedder.embed(["heat flux nozzle"])[0]
        assert [cid for cid, _ in retriever.search_vector(vector, 4, filters)] == [
            cid for cid, _ in _exact_dense(corpus, vector, 4, predicate)
        ]


class TestFaissRetriever(DenseContract):
    @pytest.fixture
    def retriever(self, settings, pool, corpus, hash_embedder):
        return FaissRetriever(FaissIndex.load(settings), hash_embedder, _allowed(pool))


class TestPgvectorRetriever(DenseContract):
    @pytest.fixture
    def retriever(self, pool, corpus, hash_embedder):
        return PgvectorRetriever(pool, hash_embedder, ef_search=100)


class TestBm25Retriever(RetrieverContract):
    fills_k = False

    @pytest.fixture
    def retriever(self, settings, pool, corpus):
        return Bm25Retriever(load_bm25(settings, pool, stamp=1), _allowed(pool))

    def test_finds_every_chunk_sharing_a_term(self, retriever, corpus):
        with_nozzle = {cid for cid, (_, text, _) in corpus.items() if "nozzle" in text.split()}
        assert {cid for cid, _ in retriever.search("nozzles", 48)} == with_nozzle

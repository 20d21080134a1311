"""The shared suite of the ``Retriever`` Protocol: every retriever applies the filters inside
(so ``k`` matching results come back) and treats filter values as data; the two dense
backends return the exact cosine top-k. Both HNSW graphs (FAISS and pgvector) are approximate
in general: on this 48-vector corpus with ef_search = 100 the graph search visits every
vector, so it is exact here; on large corpora their recall@10 is measured by bench/search.py."""

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


def _retriever(kind, settings, pool, embedder):
    allowed = partial(AllowedIds(pool).ids, stamp=1)
    if kind == "faiss":
        return FaissRetriever(FaissIndex.load(settings), embedder, allowed)
    if kind == "pgvector":
        return PgvectorRetriever(pool, embedder, ef_search=100)
    return Bm25Retriever(load_bm25(settings, pool, stamp=1), allowed)


def _exact_dense(corpus, vector, k, predicate=lambda r: True):
    scored = [(cid, float(v @ vector)) for cid, (row, _, v) in corpus.items() if predicate(row)]
    return sorted(scored, key=lambda p: (-p[1], p[0]))[:k]


@pytest.fixture(params=["faiss", "pgvector", "bm25"])
def retriever(request, settings, pool, corpus, hash_embedder):
    return _retriever(request.param, settings, pool, hash_embedder)


@pytest.fixture(params=["faiss", "pgvector"])
def dense(request, settings, pool, corpus, hash_embedder):
    return _retriever(request.param, settings, pool, hash_embedder)


@pytest.mark.parametrize("case", list(FILTER_CASES))
def test_filters_apply_inside_every_retriever(retriever, corpus, case):
    filters, predicate = FILTER_CASES[case]
    matching = {cid for cid, (row, _, _) in corpus.items() if predicate(row)}
    for query in QUERIES:
        found = [cid for cid, _ in retriever.search(query, 5, filters)]
        assert set(found) <= matching
        if not isinstance(retriever, Bm25Retriever):  # BM25 returns only chunks sharing a term
            assert len(found) == min(5, len(matching))


def test_never_returns_a_chunk_without_a_vector(retriever, corpus):
    found = {cid for query in QUERIES for cid, _ in retriever.search(query, 48)}
    assert found and found <= set(corpus)


def test_dense_top_k_is_the_exact_cosine_top_k(dense, corpus, hash_embedder):
    for query in QUERIES:
        expected = _exact_dense(corpus, hash_embedder.embed([query])[0], 7)
        found = dense.search(query, 7)
        assert [cid for cid, _ in found] == [cid for cid, _ in expected]
        assert [s for _, s in found] == pytest.approx([s for _, s in expected], abs=1e-5)


@pytest.mark.parametrize("case", ["collection", "team in, real", "numeric metadata"])
def test_dense_filtered_top_k_is_the_exact_filtered_top_k(dense, corpus, hash_embedder, case):
    filters, predicate = FILTER_CASES[case]
    vector = hash_embedder.embed(["heat flux nozzle"])[0]
    assert [cid for cid, _ in dense.search_vector(vector, 4, filters)] == [
        cid for cid, _ in _exact_dense(corpus, vector, 4, predicate)
    ]


def test_bm25_finds_every_chunk_sharing_a_term(settings, pool, corpus, hash_embedder):
    bm25 = _retriever("bm25", settings, pool, hash_embedder)
    with_nozzle = {cid for cid, (_, text, _) in corpus.items() if "nozzle" in text.split()}
    assert {cid for cid, _ in bm25.search("nozzles", 48)} == with_nozzle
    assert np.all(np.diff([s for _, s in bm25.search("nozzle flow", 48)]) <= 0)

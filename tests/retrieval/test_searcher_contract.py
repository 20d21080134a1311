"""The shared suite of the ``Searcher`` Protocol (``retrieval.base``): what answering, the service,
evaluation and replay rely on, run on ``HybridSearcher`` (over the ``corpus`` fixture, both
dense backends) and on the stand-in ``FixedSearcher``. What only ``HybridSearcher`` does (its
scores, its argument checks, threads, index refresh) is in test_searcher.py."""

import numpy as np
import pytest

from retrieval.base import SearchHit
from retrieval.filters import collection_filter, metadata_filter
from retrieval.searcher import MODES, open_searcher
from tests.stand_ins import FixedSearcher

QUERY = "wing lift drag"
FILTERS = [collection_filter(["beta"]), metadata_filter("lang", ["en"])]


def _assert_ranked(hits: list[SearchHit]) -> None:
    assert all(isinstance(hit, SearchHit) and isinstance(hit.score, float) for hit in hits)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert len({hit.chunk_id for hit in hits}) == len(hits)


class SearcherContract:
    """Every searcher passes these. A subclass gives the ``searcher`` fixture, whose data has at
    least three hits for ``QUERY`` in every mode, and five in the collection ``beta`` in English."""

    @pytest.fixture
    def searcher(self):
        raise NotImplementedError

    def test_the_k_best_hits_best_first(self, searcher):
        for k in (1, 3):
            hits = searcher.search(QUERY, k=k)
            assert len(hits) == k
            _assert_ranked(hits)
        hits = searcher.search(QUERY)
        assert 0 < len(hits) <= 10  # k defaults to 10
        _assert_ranked(hits)

    @pytest.mark.parametrize("mode", MODES)
    def test_every_mode(self, searcher, mode):
        hits = searcher.search(QUERY, k=3, mode=mode)
        assert len(hits) == 3
        _assert_ranked(hits)

    @pytest.mark.parametrize("mode", MODES)
    def test_every_hit_passes_every_filter(self, searcher, mode):
        hits = searcher.search(QUERY, k=5, mode=mode, filters=FILTERS)
        assert len(hits) == 5 and all(h.collection == "beta" and h.metadata["lang"] == "en" for h in hits)
        _assert_ranked(hits)
        assert searcher.search(QUERY, k=5, mode=mode, filters=[collection_filter([])]) == []

    def test_its_embedder_embeds_queries(self, searcher):
        embedder = searcher.embedder
        vectors = embedder.embed([QUERY, "nozzle"])
        assert vectors.shape == (2, embedder.dimension) and vectors.dtype == np.float32
        assert np.linalg.norm(vectors, axis=1) == pytest.approx([1, 1], abs=1e-5)

    def test_close(self, searcher):
        assert searcher.close() is None


class TestHybridSearcher(SearcherContract):
    @pytest.fixture(params=["faiss", "pgvector"])
    def searcher(self, request, settings, corpus, hash_embedder):
        opened = open_searcher(settings.model_copy(update={"vector_backend": request.param}), hash_embedder)
        yield opened
        opened.close()


def _hit(n: int, collection: str, lang: str) -> SearchHit:
    text = f"wing lift {n}"
    return SearchHit(n, f"file:///docs/{n}.txt", collection, text, (0, len(text)), {"lang": lang}, 1.0 - n / 10)


class TestFixedSearcher(SearcherContract):
    @pytest.fixture
    def searcher(self):
        return FixedSearcher([_hit(n, "beta", "en") for n in range(5)])

    @pytest.mark.parametrize("mode", MODES)
    def test_every_hit_passes_every_filter(self, searcher, mode):
        """A fixed stand-in returns its hits whatever the filters; what it keeps instead is the
        filters it was handed (``calls``), which the tests using it check."""
        searcher.search(QUERY, k=5, mode=mode, filters=FILTERS)
        assert searcher.calls[-1] == {"query": QUERY, "k": 5, "mode": mode, "filters": FILTERS}

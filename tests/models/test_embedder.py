import numpy as np
import pytest

from models.embedder import CachedEmbedder, SentenceTransformerEmbedder, embedder_model_dir, token_batches
from tests.stand_ins import HashingEmbedder


def test_model_dir_is_the_packaged_sentence_transformers_folder():
    model_dir = embedder_model_dir()
    assert model_dir.name == "model"
    assert (model_dir / "modules.json").is_file()


@pytest.mark.slow
def test_embed_returns_normalised_float32_rows(embedder):
    vectors = embedder.embed(["hybrid search fuses rankings", "a cat sat on the mat", "x"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.dimension == 384 and embedder.max_tokens == 254
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_similar_texts_score_higher(embedder):
    query, near, far = embedder.embed(
        ["how do vector databases index embeddings", "vector stores index embeddings with HNSW", "bread recipe"]
    )
    assert query @ near > query @ far


def test_token_batches_go_longest_first_within_both_limits():
    lengths = [10, 200, 50, 200, 40, 300]
    assert token_batches(lengths, max_texts=3, max_tokens=400) == [[5], [1, 3], [2, 4, 0]]
    assert token_batches([5000], max_texts=8, max_tokens=400) == [[0]]  # too long for any batch: alone
    assert token_batches([], max_texts=8, max_tokens=400) == []


@pytest.mark.slow
def test_vectors_keep_the_input_order_whatever_the_batches(embedder):
    texts = ["short", "a much longer text about hybrid search and reciprocal rank fusion " * 8, "x y", "bread"]
    small = SentenceTransformerEmbedder(embedder._model, embedder.model_dir, batch_size=64, batch_tokens=256)
    np.testing.assert_allclose(small.embed(texts), np.stack([embedder.embed([t])[0] for t in texts]), atol=1e-5)


def test_cached_embedder_embeds_each_distinct_text_once():
    calls = []

    class Counting(HashingEmbedder):
        def embed(self, texts):
            calls.append(list(texts))
            return super().embed(texts)

    cached, plain = CachedEmbedder(Counting()), HashingEmbedder()
    first = cached.embed(["a b", "c", "a b"])
    again = cached.embed(["c", "d"])
    assert calls == [["a b", "c"], ["d"]]
    assert np.array_equal(first, plain.embed(["a b", "c", "a b"])) and np.array_equal(again, plain.embed(["c", "d"]))
    assert cached.embed([]).shape == (0, cached.dimension)

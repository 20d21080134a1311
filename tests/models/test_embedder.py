import numpy as np
import pytest

from models.embedder import embedder_model_dir


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

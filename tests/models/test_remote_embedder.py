"""``RemoteEmbedder`` against a real ``/v1/embeddings`` server on 127.0.0.1: this service's own
route (``service.app.create_app`` with the stand-in searcher, whose embedder is the hashing
stand-in, served by uvicorn in a thread): the vectors are the server's, in order, normalised,
whatever the batching; the tokenizer is MiniLM's, local."""

import numpy as np
import pytest

from core.errors import ConfigError
from core.settings import Settings
from models.embedder import embedder_model_dir, load_embedder
from models.remote_embedder import RemoteEmbedder
from models.remote_generator import openai_client
from tests.models.test_remote_generator import engine_settings, rag_engine  # noqa: F401 (fixtures)
from tests.stand_ins import HashingEmbedder, ScriptedGenerator

EMBEDDING_MODEL = "minilm"  # what this service's /v1/embeddings calls its embedder
TEXTS = [f"text number {i} about {word}" for i, word in enumerate(["Paris", "Lyon", "physics", "Warsaw"] * 5)]


@pytest.fixture
def embeddings_server(rag_engine):  # noqa: F811
    with rag_engine(ScriptedGenerator()) as served:
        yield served


@pytest.mark.parametrize(("batch_size", "workers"), [(1, 4), (3, 2), (64, 4)])
def test_vectors_are_the_servers_in_order_whatever_the_batching(embeddings_server, batch_size, workers):
    url, key = embeddings_server
    embedder = RemoteEmbedder(
        openai_client(url, key), EMBEDDING_MODEL, model_dir=embedder_model_dir(), batch_size=batch_size, workers=workers
    )
    vectors = embedder.embed(TEXTS)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384) == (len(TEXTS), embedder.dimension)
    np.testing.assert_allclose(vectors, HashingEmbedder().embed(TEXTS), atol=1e-6)
    assert embedder.embed([]).shape == (0, 384)


def test_load_embedder_dispatches_on_the_url_and_keeps_minilms_tokenizer(embeddings_server):
    url, key = embeddings_server
    settings = Settings(embedder_url=url, embedder_model=EMBEDDING_MODEL, embedder_api_key=key)
    embedder = load_embedder(settings)
    assert isinstance(embedder, RemoteEmbedder) and embedder.max_tokens == 254
    assert embedder.tokenizer("hello world", add_special_tokens=False).input_ids == [7592, 2088]
    np.testing.assert_allclose(embedder.embed(["hello world"]), HashingEmbedder().embed(["hello world"]), atol=1e-6)


def test_a_server_of_another_dimension_or_model_fails_by_name(embeddings_server):
    url, key = embeddings_server
    with pytest.raises(ConfigError, match="RAG_EMBEDDER_MODEL"):
        load_embedder(Settings(embedder_url=url))
    import openai

    with pytest.raises(openai.NotFoundError, match="gpt"):
        load_embedder(Settings(embedder_url=url, embedder_model="gpt-embed", embedder_api_key=key)).embed(["x"])

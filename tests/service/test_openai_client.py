"""The OpenAI-compatible API driven by the official ``openai`` client against a live `rag serve`
on 127.0.0.1, over the demo corpus ingested into a fresh data dir, with the real models: a chat
completion, a streamed one, embeddings, the model list, then a 401, a 403, a 429 and a 404.
The rate limit is lowered (RAG_RATE_LIMIT_PER_MINUTE) so that one key of its own reaches it."""

import numpy as np
import openai
import pytest

from tests.service.live_server import QUESTION, demo_server

pytestmark = pytest.mark.slow

PER_MINUTE = 6  # the user key makes five requests; the "limited" key goes past it
ANSWER_WAIT = 600  # seconds: the real model on 2 cores, maybe after converting its weights


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`rag serve` over data/demo with a low rate limit: (base URL of /v1, {name: key})."""
    roles = {"user": "user", "reader": "reader", "limited": "user"}
    data_dir = tmp_path_factory.mktemp("openai") / "data"
    with demo_server(data_dir, roles, "openai", RAG_RATE_LIMIT_PER_MINUTE=str(PER_MINUTE)) as (base_url, keys):
        yield f"{base_url}/v1", keys


def client_for(served, key: str) -> openai.OpenAI:
    base_url, _ = served
    return openai.OpenAI(base_url=base_url, api_key=key, max_retries=0, timeout=ANSWER_WAIT)


def test_chat_streaming_embeddings_and_models_with_the_official_client(served):
    client = client_for(served, served[1]["user"])
    question = [{"role": "user", "content": QUESTION}]
    completion = client.chat.completions.create(model="rag/demo", messages=question, max_tokens=64)
    assert completion.choices[0].message.content.strip() and completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens > 0 and completion.rag["log_id"] > 0
    assert completion.rag["passages"] and all(p["source"].startswith("file://") for p in completion.rag["passages"])
    chunks = list(client.chat.completions.create(model="rag", messages=question, max_tokens=64, stream=True))
    streamed = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert streamed.strip() and chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].rag["log_id"] > completion.rag["log_id"] and chunks[-1].usage.total_tokens > 0
    texts = ["hybrid search fuses keyword and vector rankings", "combining BM25 with dense retrieval", "banana bread"]
    vectors = np.array([item.embedding for item in client.embeddings.create(model="minilm", input=texts).data])
    assert vectors.shape == (3, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert [model.id for model in client.models.list()] == ["rag", "rag/demo", "minilm"]
    with pytest.raises(openai.NotFoundError, match="gpt-4o") as unknown:
        client.chat.completions.create(model="gpt-4o", messages=question)
    assert unknown.value.code == "model_not_found"


def test_errors_reach_the_official_client_as_its_exceptions(served):
    question = [{"role": "user", "content": QUESTION}]
    with pytest.raises(openai.AuthenticationError, match="unknown or revoked"):
        client_for(served, "rag_not-a-key").models.list()
    with pytest.raises(openai.PermissionDeniedError, match="reader") as forbidden:
        client_for(served, served[1]["reader"]).chat.completions.create(model="rag", messages=question)
    assert forbidden.value.type == "permission_error"
    limited = client_for(served, served[1]["limited"])
    with pytest.raises(openai.RateLimitError, match="retry after") as too_many:
        for _ in range(PER_MINUTE + 1):
            limited.models.list()
    assert int(too_many.value.response.headers["Retry-After"]) >= 1

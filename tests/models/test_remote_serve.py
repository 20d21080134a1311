"""Engines by URL end to end (slow): a second ``rag serve`` process, over data/demo with the real
models, is the engine of the first one, for both its answers (``RAG_GENERATOR_URL``) and its
embeddings (``RAG_EMBEDDER_URL``: the first one's ingest and queries embed there, so it loads
no model of its own). The answer has valid citations of the first one's passages, and its log
row names the remote model (a registry row of kind ``remote``).

The engine reads the whole user turn (passages and question) as its query, so its query limit
is raised; the first process's registry refresh is off (``RAG_MODEL_REFRESH_SECONDS=0``): the
refresh asks ``models.registry.serving_model``, which does not know about remote engines."""

import httpx
import pytest

from models.prompt import parse_citations
from tests.service.live_server import DEMO, QUESTION, create_keys, demo_env, demo_server, rag, serving

pytestmark = pytest.mark.slow

ANSWER_WAIT = 600  # seconds: the engine's real model on 2 cores


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    """The engine: `rag serve` over data/demo; yields (base URL of /v1, a user key)."""
    folder = tmp_path_factory.mktemp("engine") / "data"
    limits = {"RAG_MAX_QUERY_CHARS": "20000", "RAG_RATE_LIMIT_PER_MINUTE": "100000"}
    with demo_server(folder, {"user": "user"}, "engine", **limits) as (base_url, keys):
        yield f"{base_url}/v1", keys["user"]


def test_a_second_rag_serve_is_the_engine_of_the_first(engine, tmp_path):
    url, secret = engine
    env = demo_env(
        tmp_path / "data",
        RAG_GENERATOR_URL=url,
        RAG_GENERATOR_MODEL="rag",
        RAG_GENERATOR_API_KEY=secret,
        RAG_EMBEDDER_URL=url,
        RAG_EMBEDDER_MODEL="minilm",
        RAG_EMBEDDER_API_KEY=secret,
        RAG_MODEL_REFRESH_SECONDS="0",
    )
    rag(env, "ingest", str(DEMO), "--collection", "demo")  # embedded by the engine
    headers = {"Authorization": f"Bearer {create_keys(env, {'admin': 'admin'}, 'remote')['admin']}"}
    with serving(env) as base_url:
        response = httpx.post(f"{base_url}/generate", json={"query": QUESTION}, headers=headers, timeout=ANSWER_WAIT)
        assert response.status_code == 200, response.text
        body = response.json()
        log = httpx.get(f"{base_url}/logs/{body['log_id']}", headers=headers).json()
    assert not body["refused"] and body["citations"], body
    n_passages = len(body["passages"])
    parsed = parse_citations(body["answer"], n_passages)
    assert parsed.valid and not parsed.invalid and [c["n"] for c in body["citations"]] == parsed.valid
    assert (body["model"]["kind"], body["model"]["name"]) == ("remote", "rag")
    assert log["model_id"] == body["model"]["id"] and log["model_sha256"] == body["model"]["sha256"]
    assert "<|im_start|>system" in log["prompt"]  # the same template as the in-process model's

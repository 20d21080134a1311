"""The real thing, once per module: a fresh data dir with its own embedded PostgreSQL, a small
corpus ingested with MiniLM, the real searcher and SmolLM2 generator, served by uvicorn."""

import json

import httpx
import pytest

from core.db import connection
from core.settings import Settings
from ingest.pipeline import ingest_paths
from retrieval.searcher import open_searcher
from service.app import create_app
from service.keys import Role, create_key

pytestmark = pytest.mark.slow

CORPUS = {
    "hybrid.md": "# Hybrid search\n\nHybrid search runs a BM25 keyword index and a vector index over the same "
    "chunks, then combines the two rankings with reciprocal rank fusion: each chunk scores the sum of "
    "1 / (60 + rank) over the rankings it appears in.",
    "pgvector.md": "# pgvector\n\npgvector stores embeddings in PostgreSQL and answers nearest-neighbour "
    "queries with an HNSW index using cosine distance.",
    "bread.md": "# Bread\n\nSourdough bread rises with wild yeast and lactic acid bacteria over many hours.",
}
QUESTION = "How does hybrid search combine keyword and vector results?"


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder, serve):
    root = tmp_path_factory.mktemp("fresh")
    settings = Settings(data_dir=root / "data", database_url=None)
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in CORPUS.items():
        (corpus / name).write_text(text)
    ingest_paths(settings, [corpus], collection="demo", embedder=embedder, show_progress=False)
    with connection(settings) as conn:
        key = create_key(conn, Role.admin)[1]
    app = create_app(settings, searcher=open_searcher(settings, embedder))
    with serve(app) as base_url:
        with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client:
            yield client, settings


def test_starts_on_the_embedded_database_in_a_fresh_data_dir(served):
    client, settings = served
    assert client.get("/health").json()["database"] == "ok"
    assert (settings.data_dir / "pg").is_dir() and settings.database_url is None


def test_generate_answers_from_the_corpus_and_the_log_matches(served):
    client, _ = served
    body = client.post("/generate", json={"query": QUESTION, "k": 3}).json()
    assert not body["refused"] and body["answer"]
    assert body["passages"][0]["source"].endswith("hybrid.md")
    assert all(c["n"] <= len(body["passages"]) for c in body["citations"])
    log = client.get(f"/logs/{body['log_id']}").json()
    assert (log["answer"], log["status"], log["refused"]) == (body["answer"], "complete", False)
    assert log["citations"] == body["citations"] and log["no_valid_citation"] == (not body["citations"])
    assert log["model_sha256"] == body["model"]["sha256"] and QUESTION in log["prompt"]
    assert client.post("/feedback", json={"log_id": body["log_id"], "score": 5}).status_code == 201


def test_stream_ends_with_citations_and_the_log_id(served):
    client, _ = served
    with client.stream("POST", "/generate", json={"query": QUESTION, "k": 3, "stream": True}) as response:
        lines = [line for line in response.iter_lines() if line]
    events = [
        (lines[i].removeprefix("event: "), json.loads(lines[i + 1].removeprefix("data: ")))
        for i in range(0, len(lines), 2)
    ]
    assert events[-1][0] == "done" and {kind for kind, _ in events[:-1]} == {"token"}
    done = events[-1][1]
    assert "citations" in done and done["log_id"] > 0
    assert "".join(e["text"] for _, e in events[:-1]).strip()


def test_an_off_topic_question_is_refused_without_the_model(served):
    client, _ = served
    body = client.post("/generate", json={"query": "Who won the 1954 football world cup?"}).json()
    assert body["refused"] and body["tokens"]["completion"] == 0

"""Two `rag serve` processes over one Postgres (the session's server, one fresh database) and
one data dir, with the real models and the demo corpus: a key's rate limit holds across both
together, a source ingested while both run is found through both, and a model promoted while
both run is served by both. Real subprocesses; slow (each process loads the generator)."""

import json
import os
import time
import uuid

import httpx
import psycopg
import pytest

from tests.service.live_server import DEMO, rag, serving

pytestmark = pytest.mark.slow

PER_MINUTE = 20
REFRESH_SECONDS = 1
NEW_SOURCE = "The quokkarine protocol replicates ledgers by gossiping signed vector clocks between peers."


@pytest.fixture(scope="module")
def env(pg_server, tmp_path_factory):
    """The environment of every `rag` command here: one fresh database, one data dir."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environment |= {
        "RAG_DATABASE_URL": pg_server.get_uri(name),
        "RAG_DATA_DIR": str(tmp_path_factory.mktemp("shared") / "data"),
        "RAG_RATE_LIMIT_PER_MINUTE": str(PER_MINUTE),
        "RAG_INDEX_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "RAG_MODEL_REFRESH_SECONDS": str(REFRESH_SECONDS),
        "HF_HUB_OFFLINE": "1",
    }
    yield environment
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def servers(env):
    """The demo corpus ingested, then two `rag serve` processes (started one after the other:
    the first registers the models); their base URLs."""
    rag(env, "ingest", str(DEMO), "--collection", "demo")
    with serving(env) as first, serving(env) as second:
        yield [first, second]


def _key(env: dict) -> dict:
    secret = rag(env, "keys", "create", "--role", "user").strip().splitlines()[-1]
    return {"Authorization": f"Bearer {secret}"}


def _post(url: str, path: str, body: dict, headers: dict) -> dict:
    """POST, waiting out a 429 (the polls below share the low limit)."""
    while True:
        response = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=300)
        if response.status_code != 429:
            assert response.status_code == 200, response.text
            return response.json()
        time.sleep(float(response.headers["Retry-After"]))


def _until(condition, seconds: float, pause: float = 2.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(pause)


def test_a_keys_limit_holds_across_both_processes(env, servers):
    headers = _key(env)
    body = {"query": "chunking", "mode": "bm25", "k": 1}
    statuses = [
        httpx.post(f"{servers[n % 2]}/search", json=body, headers=headers, timeout=60).status_code
        for n in range(2 * PER_MINUTE)
    ]
    allowed = statuses.count(200)
    assert PER_MINUTE <= allowed <= PER_MINUTE + 2, statuses  # + the refill while they ran
    assert 429 in statuses[0::2] and 429 in statuses[1::2]  # each process refuses once both spent the limit


def test_a_source_ingested_while_both_run_is_found_through_both(env, servers, tmp_path):
    (tmp_path / "quokkarine.md").write_text(f"# Quokkarine\n\n{NEW_SOURCE}\n")
    rag(env, "ingest", str(tmp_path), "--collection", "demo")
    headers = _key(env)
    body = {"query": "quokkarine protocol gossiping vector clocks", "k": 3}
    for url in servers:

        def found(url=url) -> bool:
            results = _post(url, "/search", body, headers)["results"]
            return bool(results) and results[0]["source"].endswith("quokkarine.md")

        _until(found, seconds=120)


def test_a_model_promoted_while_both_run_is_served_by_both(env, servers):
    headers = _key(env)
    question = {"query": "Why are documents split into chunks before embedding?", "max_new_tokens": 8}
    models = json.loads(rag(env, "models", "list", "--json"))
    served = {_post(url, "/generate", question, headers)["model"]["id"] for url in servers}
    base = next(m for m in models if m["kind"] == "base" and m["id"] not in served)
    rag(env, "models", "promote", str(base["id"]), "--force", "--json")
    for url in servers:
        _until(lambda url=url: _post(url, "/generate", question, headers)["model"]["id"] == base["id"], 600, 5)

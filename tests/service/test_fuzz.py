"""Property-based requests over the app's own OpenAPI schema (schemathesis): valid and invalid
bodies, paths and query strings for every route, each sent with a user key and an admin key.
The assertion is the contract of the HTTP edge: whatever arrives, never a 5xx. Real Postgres
and the real searcher (hybrid, filters in SQL) over a small ingested corpus; a hashing embedder
and a scripted generator stand in for the models, whose speed is not under test. Slow: a few
thousand requests."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from ingest.pipeline import ingest_paths
from retrieval.searcher import open_searcher
from tests.stand_ins import HashingEmbedder

pytestmark = pytest.mark.slow

EXAMPLES = 300  # per route and generation mode


@pytest.fixture
def settings(settings):
    """The limiter would answer 429 to most of the run; its own tests live in test_ratelimit.py."""
    return settings.model_copy(update={"rate_limit_per_minute": 1_000_000})


@pytest.fixture
def searcher(settings, prepared, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "hybrid.md").write_text("# Hybrid search\n\nBM25 and a vector index, fused by reciprocal rank.")
    (corpus / "bread.md").write_text("# Bread\n\nSourdough rises with wild yeast over many hours.")
    embedder = HashingEmbedder()
    ingest_paths(
        settings, [corpus], collection="demo", metadata={"team": "search"}, embedder=embedder, show_progress=False
    )
    searcher = open_searcher(settings, embedder)
    yield searcher
    searcher.close()


def test_no_input_gets_a_server_error(client, auth):
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []

    for operation in (result.ok() for result in schema.get_all_operations()):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis_settings(
                max_examples=EXAMPLES,
                database=None,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case):
                for role in ("user", "admin"):
                    response = case.call(headers=auth[role])
                    statuses[response.status_code] += 1
                    if response.status_code >= 500:
                        server_errors.append(
                            f"{role} {case.as_curl_command()} -> {response.status_code} {response.text[:200]}"
                        )

            try:
                send()
            except Unsatisfiable:  # a route with no inputs (/health) has no invalid request to make
                assert mode is GenerationMode.NEGATIVE

    print(f"requests: {sum(statuses.values())}, statuses: {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) > 1000
    assert server_errors == []

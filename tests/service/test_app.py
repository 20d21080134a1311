"""Routes, auth, errors and metrics through HTTP, on a real Postgres with the stand-in
searcher and generator from conftest.py."""

import json
import logging

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app

QUERY = {"query": "How does hybrid search run BM25 and a vector index?"}


def sse_events(text: str) -> list[tuple[str, dict]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], json.loads(fields["data"])))
    return events


def assert_error(response, status: int, code: str, *words: str):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, response.text
    for word in words:
        assert word in error["message"], response.text
    assert "Traceback" not in response.text


def test_health_needs_no_key_and_checks_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["database"] == "ok" and response.json()["schema_version"] >= 3


def test_generate_answers_with_citations_and_passages(client, auth):
    body = client.post("/generate", json=QUERY, headers=auth["user"]).json()
    assert body["answer"].endswith("[1].")
    assert body["citations"][0]["chunk_id"] == 1 and body["citations"][0]["span"] == [0, 70]
    assert [p["n"] for p in body["passages"]] == [1, 2]
    assert body["model"]["name"] == "scripted" and body["tokens"]["completion"] > 0
    assert set(body["timings"]) == {"retrieve_ms", "generate_ms", "total_ms"}


def test_a_session_belongs_to_the_key_that_started_it(client, auth):
    first = client.post("/generate", json={**QUERY, "session_id": "chat-1"}, headers=auth["user"])
    assert first.status_code == 200 and first.json()["session_id"] == "chat-1"
    follow_up = {"query": "And how is it fused?", "session_id": "chat-1"}
    assert client.post("/generate", json=follow_up, headers=auth["user"]).json()["session_id"] == "chat-1"
    for other in ("admin", "demo-only"):
        assert_error(client.post("/generate", json=follow_up, headers=auth[other]), 404, "not_found", "session_id")
        streamed = client.post("/generate", json={**follow_up, "stream": True}, headers=auth[other])
        assert_error(streamed, 404, "not_found", "session_id")


def test_log_read_back_matches_the_response(client, auth):
    body = client.post("/generate", json=QUERY, headers=auth["user"]).json()
    log = client.get(f"/logs/{body['log_id']}", headers=auth["admin"]).json()
    assert log["id"] == body["log_id"] and log["query"] == QUERY["query"]
    assert log["answer"] == body["answer"] and log["session_id"] == body["session_id"]
    assert log["prompt_tokens"] == body["tokens"]["prompt"]
    assert log["completion_tokens"] == body["tokens"]["completion"]
    assert [p["chunk_id"] for p in log["passages"]] == [p["chunk_id"] for p in body["passages"]]
    assert log["model_id"] == body["model"]["id"]
    assert client.get(f"/logs/{body['log_id'] + 100}", headers=auth["admin"]).status_code == 404
    assert_error(client.get("/logs/first", headers=auth["admin"]), 422, "invalid_input", "log_id: ", "whole number")


def test_stream_sends_tokens_then_a_done_event_with_citations(client, auth):
    response = client.post("/generate", json={**QUERY, "stream": True}, headers=auth["user"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"token"}
    done = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == done["answer"]
    assert done["citations"][0]["n"] == 1 and done["log_id"] > 0


def test_search_returns_the_retrieval_result_shape(client, auth, searcher):
    response = client.post("/search", json={"query": "fusion", "k": 1, "mode": "bm25"}, headers=auth["reader"])
    (hit,) = response.json()["results"]
    assert set(hit) == {"chunk_id", "source", "collection", "text", "span", "metadata", "score", "scores", "pages"}
    assert searcher.calls[-1]["k"] == 1 and searcher.calls[-1]["mode"] == "bm25"


def test_feedback_is_stored(client, auth, conn):
    log_id = client.post("/generate", json=QUERY, headers=auth["user"]).json()["log_id"]
    response = client.post("/feedback", json={"log_id": log_id, "score": 5, "comment": "good"}, headers=auth["user"])
    assert response.status_code == 201 and response.json()["log_id"] == log_id
    assert conn.execute("SELECT score, comment FROM feedback WHERE log_id = %s", (log_id,)).fetchone() == (5, "good")
    assert_error(
        client.post("/feedback", json={"log_id": log_id + 100, "score": 5}, headers=auth["user"]),
        404,
        "not_found",
        "log_id",
    )


BAD_INPUT = [
    ({}, ["query", "required"]),
    ({"query": ""}, ["query", "non-empty"]),
    ({"query": "   "}, ["query", "blank"]),
    ({"query": "x" * 2001}, ["query", "2001", "2000"]),
    ({"query": "q", "k": 0}, ["k", "greater than or equal to 1"]),
    ({"query": "q\u0000"}, ["query", "NUL"]),
    ({"query": "q\ud800"}, ["query", "surrogate"]),
    ({"query": "\u200b\u200d\ufeff"}, ["query", "blank"]),
    ({"query": "\u0001\u0007\u001f"}, ["query", "blank"]),
    ({"query": "q", "collection": "demo\u0000"}, ["collection", "NUL"]),
    ({"query": "q", "filters": {"uri_prefix": ["file:///\u0000"]}}, ["filters", "uri_prefix.0", "NUL"]),
    ({"query": "q", "filters": {"metadata": {"la\ud800ng": "en"}}}, ["filters", "metadata.la", "surrogate"]),
    (
        {"query": "q", "filters": {"uri_prefix": ["file:///"] * 101}},
        ["filters.uri_prefix", "limit of 100", "RAG_MAX_FILTER_VALUES"],
    ),
    ({"query": "q", "k": 51}, ["k", "from 1 to 50"]),
    ({"query": "q", "k": "five"}, ["k", "whole number"]),
    ({"query": "q", "filters": {"colour": "red"}}, ["filters", "colour", "allowed"]),
    ({"query": "q", "filters": {"collection": "nope"}}, ["filters.collection", "nope"]),
    ({"query": "q", "collection": "nope"}, ["collection", "nope"]),
    ({"query": "q", "qeury": "typo"}, ["qeury", "remove it"]),
]

GENERATE_BAD_INPUT = [
    ({"query": "q", "max_new_tokens": 0}, ["max_new_tokens"]),
    ({"query": "q", "stream": 0}, ["stream", "true or false"]),
    ({"query": "q", "session_id": "s\u0000"}, ["session_id", "NUL"]),
]


@pytest.mark.parametrize("route", ["/generate", "/search"])
def test_bad_input_gets_a_clean_422_naming_the_field(client, auth, route):
    cases = BAD_INPUT + (GENERATE_BAD_INPUT if route == "/generate" else [])
    for body, words in cases:
        headers = {**auth["admin"], "Content-Type": "application/json"}  # json.dumps escapes lone surrogates
        assert_error(client.post(route, content=json.dumps(body), headers=headers), 422, "invalid_input", *words)


def test_malformed_json_is_a_400(client, auth):
    headers = {**auth["user"], "Content-Type": "application/json"}
    assert_error(client.post("/generate", content=b'{"query": ', headers=headers), 400, "malformed_json", "JSON")
    assert_error(client.post("/search", content=b"[1, 2]", headers=headers), 422, "invalid_input", "JSON object")


def test_a_key_limited_to_a_collection_cannot_read_another(client, auth, searcher):
    assert_error(
        client.post("/search", json={"query": "q", "collection": "secret"}, headers=auth["demo-only"]),
        403,
        "forbidden",
        "secret",
    )
    assert client.post("/search", json={"query": "q"}, headers=auth["demo-only"]).status_code == 200
    assert searcher.calls[-1]["filters"][-1].values == ("demo",)


def test_missing_and_unknown_keys_are_401(client):
    assert_error(client.post("/search", json=QUERY), 401, "unauthorized", "Authorization: Bearer")
    response = client.post("/search", json=QUERY, headers={"Authorization": "Bearer rag_nope"})
    assert_error(response, 401, "unauthorized", "unknown")
    assert response.headers["WWW-Authenticate"] == "Bearer"


ROUTES = ["search", "generate", "feedback", "logs", "health", "metrics"]
ALLOWED = {
    "reader": {"search", "health", "metrics"},
    "user": {"search", "generate", "feedback", "health", "metrics"},
    "admin": set(ROUTES),
    None: {"health", "metrics"},
}


def call(client, route: str, headers: dict, log_id: int):
    if route == "search":
        return client.post("/search", json=QUERY, headers=headers)
    if route == "generate":
        return client.post("/generate", json=QUERY, headers=headers)
    if route == "feedback":
        return client.post("/feedback", json={"log_id": log_id, "score": 4}, headers=headers)
    if route == "logs":
        return client.get(f"/logs/{log_id}", headers=headers)
    return client.get(f"/{route}", headers=headers)


@pytest.mark.parametrize("role", ["reader", "user", "admin", None])
def test_role_matrix(client, auth, role):
    log_id = client.post("/generate", json=QUERY, headers=auth["admin"]).json()["log_id"]
    headers = auth[role] if role else {}
    for route in ROUTES:
        status = call(client, route, headers, log_id).status_code
        expected = (200, 201) if route in ALLOWED[role] else ((403,) if role else (401,))
        assert status in expected, f"{role} {route}: {status}"


def test_rate_limit_answers_429_with_retry_after(settings, prepared, searcher, generator, auth):
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 2}), searcher=searcher, generator=generator)
    with TestClient(app) as client:
        assert [client.post("/search", json=QUERY, headers=auth["reader"]).status_code for _ in range(2)] == [200, 200]
        limited = client.post("/search", json=QUERY, headers=auth["reader"])
        assert_error(limited, 429, "rate_limited", "retry after")
        assert int(limited.headers["Retry-After"]) == 30
        assert client.post("/search", json=QUERY, headers=auth["user"]).status_code == 200  # another key


def test_unexpected_failure_is_a_500_with_an_error_id_in_the_log(client, auth, searcher, caplog):
    searcher.hits = None  # slicing None fails inside the route
    with caplog.at_level(logging.ERROR, logger="service"):
        response = client.post("/search", json=QUERY, headers=auth["reader"])
    assert_error(response, 500, "internal_error", "error id")
    error_id = response.json()["error"]["error_id"]
    assert any(error_id in record.getMessage() for record in caplog.records)


def test_a_failure_mid_stream_ends_with_an_error_event(client, auth, searcher, caplog):
    searcher.hits = None
    with caplog.at_level(logging.ERROR, logger="service"):
        response = client.post("/generate", json={**QUERY, "stream": True}, headers=auth["user"])
    ((kind, data),) = sse_events(response.text)
    assert kind == "error" and data["error"]["code"] == "internal_error"
    assert any(data["error"]["error_id"] in record.getMessage() for record in caplog.records)
    assert "Traceback" not in response.text


def test_health_is_a_503_when_the_database_is_unreachable(client):
    client.app.state.services.pool.close()
    assert_error(client.get("/health"), 503, "database_error", "RAG_DATABASE_URL")


def test_unknown_route_is_a_json_404(client):
    assert_error(client.get("/nope"), 404, "not_found", "/nope")


def test_metrics_count_requests_per_route_and_generation(client, auth):
    client.post("/generate", json=QUERY, headers=auth["user"])
    client.post("/search", json={}, headers=auth["user"])
    text = client.get("/metrics").text
    assert 'rag_http_requests_total{method="POST",route="/generate",status="200"} 1.0' in text
    assert 'rag_http_requests_total{method="POST",route="/search",status="422"} 1.0' in text
    assert "rag_http_request_seconds_bucket" in text
    assert "rag_generation_seconds_count 1.0" in text and "rag_retrieval_seconds_count 1.0" in text
    assert 'rag_tokens_total{kind="completion"}' in text


def test_openapi_documents_every_route_and_the_error_shape(client):
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/generate",
        "/search",
        "/feedback",
        "/logs/{log_id}",
        "/health",
        "/metrics",
        "/admin/delete",
    }
    generate = schema["paths"]["/generate"]["post"]
    assert {"401", "403", "422", "429", "500"} <= set(generate["responses"])
    assert generate["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "text/event-stream" in generate["responses"]["200"]["content"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "query" in schema["components"]["schemas"]["GenerateRequest"]["properties"]


def test_feedback_rejects_unstorable_comment_and_out_of_range_log_id(client, auth):
    assert_error(
        client.post("/feedback", json={"log_id": 1, "score": 3, "comment": "a\u0000"}, headers=auth["user"]),
        422,
        "invalid_input",
        "comment",
        "NUL",
    )
    assert_error(
        client.post("/feedback", json={"log_id": 2**63, "score": 3}, headers=auth["user"]),
        422,
        "invalid_input",
        "log_id",
    )
    assert_error(client.get(f"/logs/{2**63}", headers=auth["admin"]), 422, "invalid_input", "log_id")


def test_a_body_over_the_limit_is_a_413_naming_it(client, auth, settings):
    big = {"query": "q", "filters": {"uri_prefix": "x" * settings.max_body_bytes}}
    assert_error(client.post("/search", json=big, headers=auth["user"]), 413, "too_large", "RAG_MAX_BODY_BYTES")

    def chunks():  # no Content-Length: the bytes are counted as they arrive
        yield b'{"query": "q", "filters": {"uri_prefix": "'
        for _ in range(settings.max_body_bytes // 1000 + 1):
            yield b"x" * 1000
        yield b'"}}'

    headers = {**auth["user"], "Content-Type": "application/json"}
    assert_error(client.post("/search", content=chunks(), headers=headers), 413, "too_large", "RAG_MAX_BODY_BYTES")


def test_metrics_labels_stay_bounded_whatever_the_method_or_path(client):
    for i in range(20):
        client.request(f"M{i:05d}", "/health")
        client.get(f"/nowhere/{i}")
    text = client.get("/metrics").text
    assert "M00001" not in text and "/nowhere" not in text
    assert 'method="other"' in text and 'route="unmatched"' in text


def test_openapi_carries_the_bounds(client, settings):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    k = next(t for t in schemas["SearchRequest"]["properties"]["k"]["anyOf"] if t["type"] == "integer")
    assert (k["minimum"], k["maximum"]) == (1, settings.max_k)
    feedback = schemas["FeedbackRequest"]["properties"]
    assert feedback["log_id"]["maximum"] >= 2**63 - 1 and feedback["score"]["maximum"] == 5


def test_a_500_leaves_the_keep_alive_connection_usable(settings, prepared, auth, generator, serve):
    class Failing:
        def search(self, *args, **kwargs):
            raise RuntimeError("boom")

    app = create_app(settings, searcher=Failing(), generator=generator)
    with serve(app) as base_url, httpx.Client(base_url=base_url) as http:
        failed = http.post("/search", json={"query": "q"}, headers=auth["user"])
        assert failed.status_code == 500 and failed.json()["error"]["error_id"]
        assert http.get("/health").status_code == 200
        assert http.post("/search", json={"query": "q"}, headers=auth["user"]).status_code == 500

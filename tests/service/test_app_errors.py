"""Auth, bad input and failures through HTTP: every error a clean JSON body with its code (or an
SSE error event), on a real Postgres with the stand-in searcher and generator from conftest.py."""

import json
import logging

import httpx
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.service.http_checks import QUERY, assert_error, sse_events

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

"""Routes, metrics and the OpenAPI schema through HTTP, on a real Postgres with the stand-in
searcher and generator from conftest.py."""

from tests.service.http_checks import QUERY, assert_error, sse_events


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
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/models",
    }
    generate = schema["paths"]["/generate"]["post"]
    assert {"401", "403", "422", "429", "500"} <= set(generate["responses"])
    assert generate["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "text/event-stream" in generate["responses"]["200"]["content"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
    assert "query" in schema["components"]["schemas"]["GenerateRequest"]["properties"]


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

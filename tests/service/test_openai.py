"""The OpenAI-compatible routes (``/v1``) through HTTP, on a real Postgres with the stand-in
searcher and generator from conftest.py; the last test drives them with the official client."""

import base64
import json

import numpy as np
import openai
import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.service.conftest import ANSWER
from tests.service.http_checks import QUERY, assert_error

QUESTION = {"role": "user", "content": QUERY["query"]}
CHAT = {"model": "rag", "messages": [{"role": "system", "content": "Be brief."}, QUESTION]}


def assert_openai_error(response, status: int, error_type: str, code: str, *words: str) -> dict:
    """The response is OpenAI's error shape with this status, type and code."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}, response.text
    assert (error["type"], error["code"]) == (error_type, code), response.text
    for word in words:
        assert word in error["message"], response.text
    return error


def data_lines(text: str) -> list[str]:
    """The data of each server-sent event, in order."""
    return [block.removeprefix("data: ") for block in text.strip().split("\n\n")]


def test_models_list_rag_a_model_per_readable_collection_and_the_embedder(client, auth):
    listed = client.get("/v1/models", headers=auth["reader"]).json()
    assert listed["object"] == "list" and {m["object"] for m in listed["data"]} == {"model"}
    assert [m["id"] for m in listed["data"]] == ["rag", "rag/demo", "rag/secret", "minilm"]
    limited = client.get("/v1/models", headers=auth["demo-only"]).json()
    assert [m["id"] for m in limited["data"]] == ["rag", "rag/demo", "minilm"]


def test_chat_completion_answers_with_usage_and_grounding(client, auth):
    body = client.post("/v1/chat/completions", json=CHAT, headers=auth["user"]).json()
    assert body["object"] == "chat.completion" and body["model"] == "rag" and body["id"].startswith("chatcmpl-")
    (choice,) = body["choices"]
    assert choice["message"] == {"role": "assistant", "content": ANSWER} and choice["finish_reason"] == "stop"
    usage = body["usage"]
    assert usage["completion_tokens"] == len(ANSWER.split())
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    rag = body["rag"]
    assert set(rag) == {"citations", "passages", "log_id", "refused", "session_id"} and rag["refused"] is False
    assert rag["citations"][0]["n"] == 1 and [p["n"] for p in rag["passages"]] == [1, 2]
    log = client.get(f"/logs/{rag['log_id']}", headers=auth["admin"]).json()
    assert log["query"] == QUERY["query"] and log["answer"] == ANSWER and log["session_id"] == rag["session_id"]


def test_a_collection_model_searches_that_collection_and_an_unknown_model_is_a_404(client, auth, searcher):
    assert client.post("/v1/chat/completions", json={**CHAT, "model": "rag/demo"}, headers=auth["user"]).is_success
    assert searcher.calls[-1]["filters"][-1].values == ("demo",)
    for model in ("gpt-4o", "rag/nope", "rag/", "minilm"):
        response = client.post("/v1/chat/completions", json={**CHAT, "model": model}, headers=auth["user"])
        assert_openai_error(response, 404, "invalid_request_error", "model_not_found", repr(model), "/v1/models")
    response = client.post("/v1/chat/completions", json={**CHAT, "model": "rag/secret"}, headers=auth["demo-only"])
    assert_openai_error(response, 403, "permission_error", "forbidden", "secret")


def test_earlier_user_messages_are_the_previous_turns(client, auth, searcher):
    follow_up = {"role": "user", "content": [{"type": "text", "text": "And how is it fused?"}]}
    messages = [QUESTION, {"role": "assistant", "content": ANSWER}, follow_up]
    assert client.post("/v1/chat/completions", json={**CHAT, "messages": messages}, headers=auth["user"]).is_success
    assert searcher.calls[-1]["query"].startswith("And how is it fused? hybrid search")


def test_the_session_id_extra_field_continues_a_session_of_the_key(client, auth, searcher):
    first = client.post("/v1/chat/completions", json=CHAT, headers=auth["user"]).json()["rag"]
    follow_up = {"model": "rag", "messages": [{"role": "user", "content": "And how is it fused?"}]}
    continued = {**follow_up, "session_id": first["session_id"]}
    second = client.post("/v1/chat/completions", json=continued, headers=auth["user"]).json()["rag"]
    assert second["session_id"] == first["session_id"] and "hybrid" in searcher.calls[-1]["query"]
    other = client.post("/v1/chat/completions", json=continued, headers=auth["admin"])
    assert_openai_error(other, 404, "invalid_request_error", "not_found", "session_id")


def test_stream_sends_chunks_then_finish_reason_usage_and_grounding_then_done(client, auth):
    response = client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=auth["user"])
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    *chunks, done = data_lines(response.text)
    assert done == "[DONE]"
    chunks = [json.loads(chunk) for chunk in chunks]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"} and len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == ANSWER
    last = chunks[-1]
    assert last["choices"][0]["finish_reason"] == "stop" and last["usage"]["completion_tokens"] > 0
    assert last["rag"]["citations"][0]["n"] == 1 and last["rag"]["log_id"] > 0
    assert all("rag" not in c and c["choices"][0].get("finish_reason") is None for c in chunks[:-1])


def test_a_failure_mid_stream_ends_with_an_openai_shaped_error_and_no_done(client, auth, searcher, official):
    searcher.hits = None  # slicing None fails inside the pipeline, after the response began
    response = client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=auth["user"])
    role, failure = (json.loads(data) for data in data_lines(response.text))
    assert role["choices"][0]["delta"]["role"] == "assistant"
    assert failure["error"]["type"] == "server_error" and "error id" in failure["error"]["message"]
    with pytest.raises(openai.APIError, match="error id"):
        list(official.chat.completions.create(model="rag", messages=[QUESTION], stream=True))


def test_max_tokens_caps_the_answer(client, auth):
    for field in ("max_tokens", "max_completion_tokens"):
        body = client.post("/v1/chat/completions", json={**CHAT, field: 2}, headers=auth["user"]).json()
        assert body["choices"][0]["message"]["content"] == " ".join(ANSWER.split()[:2])
        assert body["usage"]["completion_tokens"] == 2


def test_embeddings_are_the_embedders_vectors_as_floats_or_base64(client, auth, searcher):
    texts = ["hybrid search", "rank fusion"]
    expected = searcher.embedder.embed(texts)
    body = client.post("/v1/embeddings", json={"model": "minilm", "input": texts}, headers=auth["reader"]).json()
    assert body["object"] == "list" and body["model"] == "minilm" and body["usage"]["prompt_tokens"] > 0
    assert [(d["object"], d["index"]) for d in body["data"]] == [("embedding", 0), ("embedding", 1)]
    np.testing.assert_allclose([d["embedding"] for d in body["data"]], expected, rtol=1e-6)
    packed = {"model": "minilm", "input": texts[0], "encoding_format": "base64"}
    (row,) = client.post("/v1/embeddings", json=packed, headers=auth["reader"]).json()["data"]
    np.testing.assert_array_equal(np.frombuffer(base64.b64decode(row["embedding"]), "<f4"), expected[0])


def test_embedding_errors(client, auth):
    cases = [
        ({"model": "text-embedding-3-small", "input": "x"}, 404, "model_not_found", ["minilm"]),
        ({"model": "minilm", "input": "x", "dimensions": 10}, 400, "invalid_input", ["dimensions", "384"]),
        ({"model": "minilm", "input": []}, 400, "invalid_input", ["input"]),
        ({"model": "minilm", "input": [""]}, 400, "invalid_input", ["input"]),
    ]
    for body, status, code, words in cases:
        response = client.post("/v1/embeddings", json=body, headers=auth["reader"])
        assert_openai_error(response, status, "invalid_request_error", code, *words)


def test_errors_under_v1_have_openai_shape_and_the_rest_keep_theirs(client, auth):
    missing = client.post("/v1/chat/completions", json=CHAT)
    assert_openai_error(missing, 401, "authentication_error", "unauthorized", "Authorization: Bearer")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    reader = client.post("/v1/chat/completions", json=CHAT, headers=auth["reader"])
    assert_openai_error(reader, 403, "permission_error", "forbidden", "reader")
    empty = client.post("/v1/chat/completions", json={**CHAT, "messages": []}, headers=auth["user"])
    assert_openai_error(empty, 400, "invalid_request_error", "invalid_input", "messages")
    last = {**CHAT, "messages": [QUESTION, {"role": "assistant", "content": "Hi"}]}
    assert_openai_error(
        client.post("/v1/chat/completions", json=last, headers=auth["user"]),
        400,
        "invalid_request_error",
        "invalid_input",
        "assistant",
    )
    blank = {**CHAT, "messages": [{"role": "user", "content": ""}]}
    response = client.post("/v1/chat/completions", json=blank, headers=auth["user"])
    assert_openai_error(response, 400, "invalid_request_error", "invalid_input", "messages")
    assert_openai_error(client.get("/v1/nothing"), 404, "invalid_request_error", "not_found")
    assert_error(client.post("/generate", json={}, headers=auth["user"]), 422, "invalid_input", "query")
    assert "type" not in client.post("/generate", json={}, headers=auth["user"]).json()["error"]


def test_rate_limit_under_v1_is_a_429_rate_limit_error(settings, prepared, searcher, generator, auth):
    app = create_app(settings.model_copy(update={"rate_limit_per_minute": 1}), searcher=searcher, generator=generator)
    with TestClient(app) as client:
        assert client.get("/v1/models", headers=auth["reader"]).status_code == 200
        limited = client.get("/v1/models", headers=auth["reader"])
        assert_openai_error(limited, 429, "rate_limit_error", "rate_limited", "retry after")
        assert int(limited.headers["Retry-After"]) == 60


@pytest.fixture
def official(client, prepared):
    """The openai client over the test client, with the user key."""
    return openai.OpenAI(base_url="http://testserver/v1", api_key=prepared["user"], http_client=client, max_retries=0)


def test_the_official_client_reads_every_route(official, searcher):
    completion = official.chat.completions.create(model="rag", messages=[QUESTION])
    assert completion.choices[0].message.content == ANSWER and completion.rag["citations"][0]["n"] == 1
    chunks = list(official.chat.completions.create(model="rag/demo", messages=[QUESTION], stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ANSWER
    assert chunks[-1].choices[0].finish_reason == "stop" and chunks[-1].rag["log_id"] > completion.rag["log_id"]
    vectors = official.embeddings.create(model="minilm", input=["hybrid search"])  # base64 on the wire
    np.testing.assert_allclose(vectors.data[0].embedding, searcher.embedder.embed(["hybrid search"])[0], rtol=1e-6)
    assert [m.id for m in official.models.list()][-1] == "minilm"
    with pytest.raises(openai.NotFoundError, match="gpt-4o") as raised:
        official.chat.completions.create(model="gpt-4o", messages=[QUESTION])
    assert raised.value.code == "model_not_found" and raised.value.type == "invalid_request_error"


def test_openapi_documents_the_v1_routes_with_the_openai_error_shape(client):
    schema = client.get("/openapi.json").json()
    assert {"/v1/chat/completions", "/v1/embeddings", "/v1/models"} <= set(schema["paths"])
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert chat["404"]["content"]["application/json"]["schema"]["$ref"].endswith("/OpenAIErrorBody")
    assert "text/event-stream" in chat["200"]["content"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]

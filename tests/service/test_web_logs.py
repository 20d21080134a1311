"""The Logs page's JSON routes (admin only): recent exchanges filtered by rating, refused and
no valid citation; one exchange in full; the replay, made with the app's own searcher and
generator, writing no log row; and the page itself."""

import pytest

from models.artifact import weights_sha256
from models.registry import register_model
from tests.service.conftest import ANSWER
from tests.service.http_checks import assert_error
from tests.service.test_web import get_page

ON_TOPIC = "How does hybrid search run BM25 and a vector index?"
OFF_TOPIC = "Which year did the Romans found Lutetia?"  # refused by the relevance gate


def weights(folder, content: bytes) -> str:
    """A tiny weights file in ``folder``; its weights sha256."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.safetensors").write_bytes(content)
    return weights_sha256(folder)


@pytest.fixture
def replayable(prepared, conn, tmp_path):
    """The stand-in base model's folder holds (tiny) weights with its sha256, so a replay finds it."""
    conn.execute("UPDATE models SET sha256 = %s WHERE name = 'scripted'", (weights(tmp_path, b"scripted"),))
    conn.commit()


def exchange(client, auth, query: str, score: int | None = None) -> int:
    """Ask ``query`` with the user key (and rate the answer ``score``); the log id."""
    response = client.post("/generate", json={"query": query}, headers=auth["user"])
    assert response.status_code == 200, response.text
    log_id = response.json()["log_id"]
    if score is not None:
        rated = client.post("/feedback", json={"log_id": log_id, "score": score}, headers=auth["user"])
        assert rated.status_code in (200, 201), rated.text
    return log_id


def listed(client, auth, query: str = "") -> list[int]:
    response = client.get(f"/web/api/logs?{query}", headers=auth["admin"])
    assert response.status_code == 200, response.text
    return [log["id"] for log in response.json()["logs"]]


def test_recent_exchanges_are_filtered_by_rating_refused_and_citation(client, auth):
    rated = exchange(client, auth, ON_TOPIC, score=4)
    unrated = exchange(client, auth, OFF_TOPIC)
    assert listed(client, auth) == [unrated, rated]
    assert listed(client, auth, "rating=4") == [rated] and listed(client, auth, "rating=2") == []
    assert listed(client, auth, "rating=rated") == [rated] and listed(client, auth, "rating=unrated") == [unrated]
    assert listed(client, auth, "refused=true") == [unrated] and listed(client, auth, "refused=false") == [rated]
    assert listed(client, auth, "no_valid_citation=true") == [] and listed(client, auth, "no_valid_citation=false")
    assert listed(client, auth, f"before={unrated}") == [rated]
    page = client.get("/web/api/logs?limit=1", headers=auth["admin"]).json()
    assert page["more"] is True and page["logs"][0]["query"] == OFF_TOPIC
    first = client.get(f"/web/api/logs?before={unrated}", headers=auth["admin"]).json()["logs"][0]
    assert (first["ratings"], first["scores"], first["mean_score"]) == (1, [4], 4.0)
    assert client.get("/web/api/logs?rating=9", headers=auth["admin"]).status_code == 422


@pytest.mark.parametrize("role", ["reader", "user", "demo-only"])
def test_the_logs_are_for_admins_only(client, auth, role):
    assert_error(client.get("/web/api/logs", headers=auth[role]), 403, "forbidden", "admin")
    assert_error(client.get("/web/api/logs/1", headers=auth[role]), 403, "forbidden")
    assert_error(client.post("/web/api/logs/1/replay", headers=auth[role]), 403, "forbidden")
    assert_error(client.get("/web/api/logs"), 401, "unauthorized")


def test_one_exchange_comes_in_full(client, auth):
    log_id = exchange(client, auth, ON_TOPIC, score=5)
    log = client.get(f"/web/api/logs/{log_id}", headers=auth["admin"]).json()
    assert log["query"] == ON_TOPIC and log["answer"] == ANSWER and log["prompt"]
    assert log["model"]["name"] == "scripted" and log["template_id"] and log["total_ms"] >= 0
    first = log["passages"][0]
    assert (first["rank"], first["chunk_id"], first["bm25_score"]) == (1, 1, 3.0)
    assert first["uri"] is None and first["chunk_deleted"] is True  # the stand-in's chunks are not in Postgres
    assert [f["score"] for f in log["feedback"]] == [5]
    assert_error(client.get("/web/api/logs/999999", headers=auth["admin"]), 404, "not_found")


def test_a_replay_reuses_the_apps_generator_and_writes_no_log(replayable, client, auth, conn, generator):
    log_id = exchange(client, auth, ON_TOPIC)
    prompts = len(generator.prompts)
    report = client.post(f"/web/api/logs/{log_id}/replay", headers=auth["admin"])
    assert report.status_code == 200, report.text
    report = report.json()
    assert report["log_id"] == log_id and report["logged"]["answer"] == ANSWER
    assert "data" in report["changed"] and report["unavailable"][0].startswith("data:")  # no such chunks in Postgres
    assert report["current"]["answer"] == ANSWER and len(generator.prompts) == prompts + 1
    assert conn.execute("SELECT count(*) FROM generation_logs").fetchone()[0] == 1
    assert_error(client.post("/web/api/logs/999999/replay", headers=auth["admin"]), 404, "not_found")


def test_a_replay_that_needs_another_model_is_refused_readably(replayable, client, auth, conn, tmp_path):
    log_id = exchange(client, auth, ON_TOPIC)
    other = weights(tmp_path / "other", b"other weights")
    register_model(conn, name="later", kind="full", path=tmp_path / "other", sha256=other, status="promoted")
    refused = client.post(f"/web/api/logs/{log_id}/replay", headers=auth["admin"])
    assert_error(refused, 409, "conflict", f"rag replay {log_id}")


def test_the_logs_page_has_its_filters_views_and_replay_button(client):
    page = get_page(client, "/web/logs")
    for name in ("rating", "refused", "no_valid_citation"):
        assert page.select("select", name=name, inside="log-filters"), name
    assert page.select("table", id="logs") and page.select("table", id="log-passages")
    assert page.select("button", id="replay", **{"data-requires": "logs"}) and page.select("pre", id="log-prompt")
    assert page.select("a", href="/web/logs", **{"aria-current": "page", "data-requires": "logs"})

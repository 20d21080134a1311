import json

import pytest

from answering.export import export_rated, log_record, rated_records
from core.errors import NotFoundError


def insert_log(conn, query, *, status="complete"):
    conn.execute("INSERT INTO prompt_templates (id, version, text) VALUES ('t', 1, 'x') ON CONFLICT DO NOTHING")
    log_id = conn.execute(
        "INSERT INTO generation_logs (session_id, query, rewritten_query, template_id, template_version,"
        " prompt, answer, refused, no_valid_citation, status, retrieve_ms, generate_ms, total_ms)"
        " VALUES ('s', %s, %s, 't', 1, 'PROMPT', 'ANSWER [1]', false, false, %s, 1, 2, 3) RETURNING id",
        (query, query, status),
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO generation_passages (log_id, rank, chunk_id, score) VALUES (%s, 1, 42, 0.9), (%s, 2, 7, 0.5)",
        (log_id, log_id),
    )
    return log_id


def rate(conn, log_id, *scores):
    for score in scores:
        conn.execute("INSERT INTO feedback (log_id, score, comment) VALUES (%s, %s, 'c')", (log_id, score))


def test_log_record_has_passages_by_rank_and_feedback(conn):
    log_id = insert_log(conn, "q")
    rate(conn, log_id, 5)
    record = log_record(conn, log_id)
    assert record["query"] == "q" and record["answer"] == "ANSWER [1]"
    assert [(p["rank"], p["chunk_id"]) for p in record["passages"]] == [(1, 42), (2, 7)]
    assert all(p["chunk_deleted"] for p in record["passages"])  # no chunk 42 or 7 in this database
    assert [f["score"] for f in record["feedback"]] == [5]
    with pytest.raises(NotFoundError, match=f"no generation log {log_id + 1}"):
        log_record(conn, log_id + 1)


def test_rated_records_keep_complete_logs_at_or_over_the_mean_score(conn):
    good, mixed, poor, unrated, incomplete = (insert_log(conn, q) for q in ("good", "mixed", "poor", "unrated", "cut"))
    conn.execute("UPDATE generation_logs SET status = 'incomplete' WHERE id = %s", (incomplete,))
    rate(conn, good, 5, 4)
    rate(conn, mixed, 5, 2)
    rate(conn, poor, 1)
    rate(conn, incomplete, 5)
    assert [(r["query"], r["score"], r["ratings"]) for r in rated_records(conn, min_score=4)] == [("good", 4.5, 2)]
    assert [r["query"] for r in rated_records(conn, min_score=3)] == ["good", "mixed"]


def test_export_writes_one_json_line_per_exchange(conn, tmp_path):
    rate(conn, insert_log(conn, "q1"), 4)
    rate(conn, insert_log(conn, "q2"), 5)
    out = tmp_path / "sub" / "rated.jsonl"
    assert export_rated(conn, out, min_score=4) == 2
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["query"] for line in lines] == ["q1", "q2"]
    assert lines[0]["prompt"] == "PROMPT" and lines[0]["passages"][0]["chunk_id"] == 42
    assert not list(tmp_path.glob("sub/*.partial"))


def test_export_writes_an_empty_file_when_nothing_is_rated(conn, tmp_path):
    out = tmp_path / "feedback.jsonl"
    assert export_rated(conn, out) == 0 and out.read_text() == ""

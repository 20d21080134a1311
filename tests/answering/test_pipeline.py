import json

import pytest
from psycopg.rows import dict_row

from answering.pipeline import AnswerRequest, AnswerResult
from models.policy import AnswerPolicy
from models.prompt import REFUSAL, TEMPLATE
from retrieval.filters import collection_filter, metadata_filter


def _log(conn, log_id):
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM generation_logs WHERE id = %s", (log_id,)).fetchone()
    passages = conn.execute(
        "SELECT rank, chunk_id, score, bm25_score, dense_score FROM generation_passages"
        " WHERE log_id = %s ORDER BY rank",
        (log_id,),
    ).fetchall()
    return row, passages


def test_answer_and_its_log_row_match(make_answerer, conn, model):
    answerer, searcher, generator = make_answerer()
    key_id = conn.execute("INSERT INTO api_keys (role, key_hash) VALUES ('user', 'h') RETURNING id").fetchone()[0]
    conn.commit()
    result = answerer.answer(AnswerRequest("What is the capital of France?", k=2, key_id=key_id))

    assert result.answer == "Paris [1]" and not result.refused
    assert result.citations == [{"n": 1, "chunk_id": 11, "source": "file:///docs/11.txt", "span": [0, 31], "pages": []}]
    assert [(p["n"], p["chunk_id"]) for p in result.passages] == [(1, 11), (2, 12)]
    assert result.model == {"id": model.id, "name": "base", "kind": "base", "sha256": "f00d"}
    assert result.tokens == {"prompt": len(generator.prompts[0].split()), "completion": 2}
    assert set(result.timings) == {"retrieve_ms", "generate_ms", "total_ms"}
    assert set(result.to_json()) == {
        "answer",
        "refused",
        "citations",
        "passages",
        "log_id",
        "session_id",
        "model",
        "timings",
        "tokens",
        "signals",
    }

    row, passages = _log(conn, result.log_id)
    assert row["answer"] == result.answer and row["citations"] == result.citations
    assert row["session_id"] == result.session_id and row["parent_log_id"] is None
    assert (row["query"], row["rewritten_query"]) == ("What is the capital of France?",) * 2
    assert (row["template_id"], row["template_version"]) == (TEMPLATE.id, TEMPLATE.version)
    assert row["prompt"] == generator.prompts[0] and "[2] Lyon is a city in France." in row["prompt"]
    assert generator.passages == [["Paris is the capital of France.", "Lyon is a city in France."]]
    assert row["policy"] == answerer.policy.to_dict() and row["policy"]["decoding"] == "copy"
    assert row["signals"]["refused_by"] is None and row["signals"]["refusal_score"] == -5.0
    assert (row["status"], row["refused"], row["no_valid_citation"], row["key_id"]) == (
        "complete",
        False,
        False,
        key_id,
    )
    assert (row["model_id"], row["model_sha256"]) == (model.id, "f00d")
    assert (row["prompt_tokens"], row["completion_tokens"]) == (result.tokens["prompt"], 2)
    assert row["total_ms"] == pytest.approx(result.timings["total_ms"], abs=0.01)
    assert [(p[0], p[1]) for p in passages] == [(1, 11), (2, 12)]
    assert passages[0][2:] == pytest.approx((0.033, 2.5, 0.71), rel=1e-5)


def test_the_gate_refuses_below_its_threshold_without_calling_the_model(make_answerer, make_hit, conn):
    answerer, _, generator = make_answerer(hits=[make_hit(11, "Unrelated text.", dense=0.12)], refusal_threshold=0.3)
    result = answerer.answer(AnswerRequest("What is the capital of Mars?"))
    assert result.answer == REFUSAL and result.refused and result.citations == []
    assert generator.prompts == [] and result.tokens == {"prompt": 0, "completion": 0}
    row, passages = _log(conn, result.log_id)
    assert row["refused"] and row["prompt"] is None and not row["no_valid_citation"]
    assert row["signals"]["refused_by"] == "gate" and row["signals"]["relevance"] < 0.3
    assert row["policy"]["gate_threshold"] == 0.3
    assert [p[1] for p in passages] == [11]


def test_the_model_refuses_at_its_calibrated_threshold(make_answerer, conn):
    policy = AnswerPolicy(refusal_threshold=-1.0)
    answerer, _, generator = make_answerer(refusal_score=-0.5, policy=policy)
    result = answerer.answer(AnswerRequest("What is the capital of France?"))
    assert result.answer == REFUSAL and result.refused and len(generator.prompts) == 1
    row, _ = _log(conn, result.log_id)
    assert row["signals"] == {
        "relevance": pytest.approx(row["signals"]["relevance"]),
        "refusal_score": -0.5,
        "refused_by": "model",
    }
    assert row["policy"]["refusal_threshold"] == -1.0


def test_no_hits_is_a_refusal(make_answerer):
    answerer, _, generator = make_answerer(hits=[])
    assert answerer.answer(AnswerRequest("anything")).refused and generator.prompts == []


def test_invalid_markers_are_dropped_recorded_and_flagged(make_answerer, conn):
    answerer, _, _ = make_answerer(reply="Paris [4] and more [9]")
    result = answerer.answer(AnswerRequest("What is the capital of France?", k=2))
    assert result.answer == "Paris and more" and result.citations == []
    row, _ = _log(conn, result.log_id)
    assert row["invalid_citations"] == ["[4]", "[9]"] and row["no_valid_citation"]


def test_an_answer_opening_as_the_refusal_is_the_refusal(make_answerer, conn):
    answerer, _, _ = make_answerer(reply="The passages do not mention Mars [1]")
    result = answerer.answer(AnswerRequest("What is the capital of France?"))
    row, _ = _log(conn, result.log_id)
    assert result.refused and result.answer == REFUSAL and result.citations == []
    assert row["refused"] and not row["no_valid_citation"]


def test_follow_up_is_rewritten_and_chained_in_the_session(make_answerer, conn):
    answerer, searcher, _ = make_answerer()
    first = answerer.answer(AnswerRequest("What is the capital of France?", session_id="s1"))
    second = answerer.answer(AnswerRequest("How big is it?", session_id="s1"))
    assert searcher.calls[1]["query"] == "How big is it? capital France"
    row, _ = _log(conn, second.log_id)
    assert (row["query"], row["rewritten_query"]) == ("How big is it?", "How big is it? capital France")
    assert row["parent_log_id"] == first.log_id and second.session_id == "s1"


def test_a_session_is_continued_only_by_the_key_that_started_it(make_answerer, conn):
    answerer, searcher, _ = make_answerer()
    key_id = conn.execute("INSERT INTO api_keys (role, key_hash) VALUES ('user', 'h') RETURNING id").fetchone()[0]
    conn.commit()
    answerer.answer(AnswerRequest("What is the capital of France?", session_id="s1"))
    other = answerer.answer(AnswerRequest("How big is it?", session_id="s1", key_id=key_id))
    assert searcher.calls[1]["query"] == "How big is it?"  # not rewritten with the other key's question
    row, _ = _log(conn, other.log_id)
    assert row["parent_log_id"] is None and row["key_id"] == key_id


def test_a_new_session_gets_an_id_and_no_parent(make_answerer):
    answerer, _, _ = make_answerer()
    one, two = (answerer.answer(AnswerRequest("What is it?")) for _ in range(2))
    assert one.session_id != two.session_id


def test_collections_and_filters_reach_the_searcher(make_answerer, conn):
    answerer, searcher, _ = make_answerer()
    mine = collection_filter(["a"])
    result = answerer.answer(AnswerRequest("What is the capital of France?", k=1, filters=[mine], collections=["demo"]))
    assert (searcher.calls[0]["k"], searcher.calls[0]["filters"]) == (1, [mine, collection_filter(["demo"])])
    row, _ = _log(conn, result.log_id)
    assert row["request"]["collections"] == ["demo"] and row["request"]["filters"][0]["field"] == "collection"


def test_stream_yields_pieces_then_the_result(make_answerer):
    answerer, _, _ = make_answerer(reply="Paris is big [1]")
    items = list(answerer.stream(AnswerRequest("What is the capital of France?")))
    assert items[:-1] == ["Paris", " is", " big", " [1]"]
    assert isinstance(items[-1], AnswerResult) and items[-1].answer == "Paris is big [1]"


def test_a_stream_closed_early_is_logged_incomplete(make_answerer, conn):
    answerer, _, _ = make_answerer(reply="Paris is big [1]")
    events = answerer.stream(AnswerRequest("What is the capital of France?"))
    assert [next(events), next(events)] == ["Paris", " is"]
    events.close()
    row = conn.execute("SELECT status, answer, completion_tokens FROM generation_logs").fetchone()
    assert row == ("incomplete", "Paris is", 2)


def test_a_failing_generator_is_logged_failed(make_answerer, conn):
    answerer, _, generator = make_answerer()
    generator.generate = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("out of memory"))
    with pytest.raises(RuntimeError):
        answerer.answer(AnswerRequest("What is the capital of France?"))
    row = conn.execute("SELECT status, error, answer FROM generation_logs").fetchone()
    assert row == ("failed", "RuntimeError('out of memory')", "")


def test_pii_is_redacted_in_the_log_unless_turned_off(make_answerer, conn):
    answerer, _, _ = make_answerer(reply="Write to ann@example.org [1]")
    result = answerer.answer(AnswerRequest("Is ann@example.org at 10.0.0.1 the capital of France?"))
    row, _ = _log(conn, result.log_id)
    assert row["query"] == "Is [EMAIL] at [IP] the capital of France?" and row["answer"] == "Write to [EMAIL] [1]"
    assert "ann@example.org" not in row["prompt"] and "ann@example.org" not in row["rewritten_query"]
    assert result.answer == "Write to ann@example.org [1]"  # the user still sees their answer

    chat = "ann@example.org"
    email_filter = metadata_filter("owner", ["ann@example.org"])
    first = answerer.answer(AnswerRequest("What is the capital of France?", session_id=chat, filters=[email_filter]))
    second = answerer.answer(AnswerRequest("How big is it?", session_id=chat))
    stored = [_log(conn, r.log_id)[0] for r in (first, second)]
    assert [r["session_id"] for r in stored] == ["[EMAIL]"] * 2 and first.session_id == chat
    assert stored[1]["parent_log_id"] == first.log_id  # the session still continues
    assert "ann@example.org" not in json.dumps(stored[0]["request"])

    plain, _, _ = make_answerer(reply="ok [1]", redact_pii=False)
    row, _ = _log(conn, plain.answer(AnswerRequest("Is ann@example.org the capital of France?")).log_id)
    assert row["query"] == "Is ann@example.org the capital of France?"

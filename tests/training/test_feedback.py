"""Rated exchanges as training records (``training/feedback.py``)."""

import pytest

from core.errors import InputError
from models.prompt import REFUSAL
from tests.training.feedback_fixtures import QUESTION, exchange, three_exchanges, write_exchanges
from training.feedback import feedback_record, feedback_records, prompt_passages, read_feedback


def test_an_answered_exchange_becomes_a_synthetic_record_citing_its_passage():
    record = feedback_record(exchange(7, "Jane Smith built it in 1820 [1]."))
    assert record == {
        "id": "feedback:7",
        "question": QUESTION,
        "passages": [
            {"text": "The mill was built in 1820 by Jane Smith.", "source": "chunk:41"},
            {"text": "Beta mountain was first climbed in 1901.", "source": "chunk:42"},
        ],
        "answer": "Jane Smith built it in 1820.",
        "citations": [1],
        "answerable": True,
        "origin": "feedback",
        "synthetic": True,
    }


def test_a_refused_exchange_is_unanswerable_and_targets_the_refusal():
    record = feedback_record(exchange(8, f"Sorry. {REFUSAL}", refused=True))
    assert not record["answerable"] and record["answer"] == REFUSAL and record["citations"] == []
    assert len(record["passages"]) == 2 and record["synthetic"] is True


def test_exchanges_without_a_prompt_or_a_valid_citation_are_left_out():
    uncited = exchange(10, "Jane Smith, I think.")
    records, skipped = feedback_records([*three_exchanges(), uncited])
    assert [r["id"] for r in records] == ["feedback:7", "feedback:8"] and skipped == 2


def test_a_prompt_that_lists_other_passages_than_the_log_is_an_error():
    broken = {**exchange(7, "1820 [1]"), "passages": [{"rank": n, "chunk_id": n} for n in range(1, 4)]}
    with pytest.raises(InputError, match="exchange 7: its prompt lists 2 passages, its log 3"):
        feedback_record(broken)


def test_prompt_passages_read_the_numbered_lines_only():
    prompt = "system: cite like [1].\nuser:\n[1] first\n[2] second\n\nQuestion: what of\n[3] this?"
    assert prompt_passages(prompt, 2) == ["first", "second"]


def test_read_feedback_accepts_an_empty_file_and_names_bad_lines(tmp_path):
    assert read_feedback(write_exchanges(tmp_path / "empty.jsonl", [])) == []
    assert len(read_feedback(write_exchanges(tmp_path / "three.jsonl", three_exchanges()))) == 3
    with pytest.raises(InputError, match="does not exist.*rag logs export"):
        read_feedback(tmp_path / "missing.jsonl")
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\nnot json\n')
    with pytest.raises(InputError, match="bad.jsonl line 1 lacks rewritten_query, prompt"):
        read_feedback(tmp_path / "bad.jsonl")
    (tmp_path / "bad.jsonl").write_text("\nnot json\n")
    with pytest.raises(InputError, match="bad.jsonl line 2 is not JSON"):
        read_feedback(tmp_path / "bad.jsonl")

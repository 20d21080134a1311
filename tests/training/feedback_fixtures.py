"""Rated exchanges in the shape ``rag logs export`` writes (``answering/export.py``: a
generation log row with its passages by rank, feedback, mean score and ratings), made by hand."""

import json
from pathlib import Path

from models.prompt import render_prompt
from tests.stand_ins import ChatTokenizer

QUESTION = "When was the mill built?"
PASSAGES = ["The mill was built in 1820\nby   Jane Smith.", "Beta mountain was first climbed in 1901."]


def exchange(log_id: int, answer: str, *, refused: bool = False, prompted: bool = True) -> dict:
    """One exported exchange over ``PASSAGES`` (chunk ids 41 and 42); ``prompted=False`` is one
    refused before the model was called, so without a prompt."""
    return {
        "id": log_id,
        "created_at": "2025-01-01 10:00:00+00:00",
        "session_id": "s1",
        "query": "and the mill?",
        "rewritten_query": f" {QUESTION} ",
        "prompt": render_prompt(QUESTION, PASSAGES, ChatTokenizer()) if prompted else None,
        "answer": answer,
        "citations": [{"n": 1, "chunk_id": 41, "source": "file:///docs/mill.txt", "span": [0, 40]}],
        "invalid_citations": [],
        "refused": refused,
        "no_valid_citation": False,
        "status": "complete",
        "passages": [
            {"rank": n, "chunk_id": 40 + n, "score": 0.5, "bm25_score": None, "dense_score": 0.6}
            for n in range(1, len(PASSAGES) + 1)
        ],
        "feedback": [{"id": 1, "score": 5, "comment": None, "key_id": 1, "created_at": "2025-01-01 10:01:00+00:00"}],
        "score": 5.0,
        "ratings": 1,
    }


def write_exchanges(path: Path, exchanges: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in exchanges), encoding="utf-8")
    return path


def three_exchanges() -> list[dict]:
    """An answer citing passage 1, a refusal by the model, and a refusal before the model."""
    return [
        exchange(7, "Jane Smith built it in 1820 [1]."),
        exchange(8, "The passages do not contain the answer.", refused=True),
        exchange(9, "The passages do not contain the answer.", refused=True, prompted=False),
    ]

"""Rated exchanges in the shape ``rag logs export`` writes (``answering/export.py``: a
generation log row with its passages by rank, feedback, mean score and ratings), made by hand."""

import json
from pathlib import Path

from models.prompt import render_prompt

QUESTION = "When was the mill built?"
PASSAGES = ["The mill was built in 1820\nby   Jane Smith.", "Beta mountain was first climbed in 1901."]


class ChatML:
    """SmolLM2's chat template, as much of it as ``render_prompt`` needs."""

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return turns + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def exchange(log_id: int, answer: str, *, refused: bool = False, prompted: bool = True) -> dict:
    """One exported exchange over ``PASSAGES`` (chunk ids 41 and 42); ``prompted=False`` is one
    refused before the model was called, so without a prompt."""
    return {
        "id": log_id,
        "created_at": "2025-01-01 10:00:00+00:00",
        "session_id": "s1",
        "query": "and the mill?",
        "rewritten_query": f" {QUESTION} ",
        "prompt": render_prompt(QUESTION, PASSAGES, ChatML()) if prompted else None,
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

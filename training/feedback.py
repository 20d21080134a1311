"""Training records from rated exchanges, the JSONL ``rag logs export`` writes (one generation
log per line, with its ``prompt``, ``answer``, ``refused`` flag and ``passages`` by rank).

Each exchange becomes a record of the SQuAD records' shape with ``"origin": "feedback"`` and
``"synthetic": true`` (a model wrote the answer): the question is the standalone query the
prompt holds, the passages are the logged passages (their text read back from the prompt, each
named ``chunk:ID``), the answer is the logged answer with its ``[n]`` markers moved into
``citations``; a refused exchange targets the refusal sentence and is unanswerable.

Left out, and counted: exchanges refused before the model was called (no prompt was made, so
their passages' text was never logged), and answers without a valid citation (the template
asks for one, and training would teach answers without evidence)."""

import json
import re
from pathlib import Path

from core.errors import InputError
from models.prompt import REFUSAL, drop_invalid_markers, parse_citations

FIELDS = ("id", "rewritten_query", "prompt", "answer", "refused", "passages")

# A passage line of the prompt, as ``models.prompt.number_passages`` writes it: "[n] text".
_PASSAGE_LINE = re.compile(r"^\[(\d+)\] (.*)$", re.MULTILINE)
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")


def read_feedback(path: Path) -> list[dict]:
    """The exchanges of a ``rag logs export`` file, in file order (an empty file holds none)."""
    if not path.is_file():
        raise InputError(f"feedback file {path} does not exist; write it with `rag logs export --out {path}`.")
    exchanges = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            exchange = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path} line {number} is not JSON ({exc}); pass a file written by `rag logs export`."
            ) from exc
        missing = [f for f in FIELDS if f not in exchange] if isinstance(exchange, dict) else list(FIELDS)
        if missing:
            raise InputError(
                f"{path} line {number} lacks {', '.join(missing)}; pass a file written by `rag logs export`."
            )
        exchanges.append(exchange)
    return exchanges


def prompt_passages(prompt: str, count: int) -> list[str]:
    """The texts of passages ``[1]`` to ``[count]`` listed in a rendered prompt."""
    texts: list[str] = []
    for match in _PASSAGE_LINE.finditer(prompt):
        if len(texts) < count and int(match.group(1)) == len(texts) + 1:
            texts.append(match.group(2))
    return texts


def _answer_text(answer: str) -> str:
    """``answer`` without its markers: against zero passages every marker is invalid."""
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", drop_invalid_markers(answer, 0))


def feedback_record(exchange: dict) -> dict | None:
    """The training record of one exported exchange, or None when it is left out."""
    if exchange["prompt"] is None:
        return None
    logged = exchange["passages"]
    texts = prompt_passages(exchange["prompt"], len(logged))
    if len(texts) != len(logged):
        raise InputError(
            f"exchange {exchange['id']}: its prompt lists {len(texts)} passages, its log {len(logged)}; "
            "export it again with `rag logs export`."
        )
    citations = [] if exchange["refused"] else parse_citations(exchange["answer"], len(logged)).valid
    if not exchange["refused"] and not citations:
        return None
    return {
        "id": f"feedback:{exchange['id']}",
        "question": exchange["rewritten_query"].strip(),
        "passages": [{"text": text, "source": f"chunk:{p['chunk_id']}"} for text, p in zip(texts, logged)],
        "answer": REFUSAL if exchange["refused"] else _answer_text(exchange["answer"]),
        "citations": citations,
        "answerable": not exchange["refused"],
        "origin": "feedback",
        "synthetic": True,
    }


def feedback_records(exchanges: list[dict]) -> tuple[list[dict], int]:
    """The records of ``exchanges`` in order, and how many exchanges were left out."""
    records = [r for r in map(feedback_record, exchanges) if r is not None]
    return records, len(exchanges) - len(records)

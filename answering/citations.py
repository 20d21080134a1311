"""The citation check: every ``[n]`` in an answer must name one of the passages it was given.
Invalid markers are dropped from the answer and recorded; an answer that is not the refusal
and has no valid citation left is flagged."""

from dataclasses import dataclass
from typing import Any

from models.prompt import REFUSAL, drop_invalid_markers, parse_citations


@dataclass(frozen=True)
class CheckedAnswer:
    answer: str  # invalid markers removed
    citations: list[dict[str, Any]]  # {n, chunk_id, source, span} per valid marker, in order of use
    invalid: list[str]  # the dropped markers as written
    no_valid_citation: bool


def check_citations(text: str, passages: list[Any]) -> CheckedAnswer:
    """Check ``text`` against ``passages`` (search hits, numbered from 1 in order)."""
    parsed = parse_citations(text, len(passages))
    answer = drop_invalid_markers(text, len(passages))
    citations = [
        {"n": n, "chunk_id": passages[n - 1].chunk_id, "source": passages[n - 1].source, "span": list(passages[n - 1].span)}
        for n in parsed.valid
    ]
    return CheckedAnswer(answer, citations, parsed.invalid, no_valid_citation=not citations and not is_refusal(answer))


def is_refusal(answer: str) -> bool:
    return REFUSAL in answer

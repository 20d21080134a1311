"""Citation-constrained decoding: an answer to k numbered passages ends with a valid ``[n]``.

The base SmolLM2-135M-Instruct never writes markers of its own, so without this an answer
would stay uncited until a fine-tuned model is promoted. Both greedy loops, serving's
(``models.generator.HFGenerator``) and evaluation's (``models.qa_answer.QAAnswerer``), take
each token from ``CitationConstraint.next_token`` instead of the plain argmax. The rules, for
the answer decoded so far:

- an answer that is empty, the start of the refusal sentence or holds it is left alone: a
  refusal needs no citation;
- any other answer without a valid marker (1 <= n <= k) opens one, with the best token that
  opens a marker: in place of an end token when the model wants to end, and at the latest when
  only the longest marker's length is left of ``max_new_tokens`` (the base model seldom ends
  within the budget; its answer then spends its last tokens on the marker);
- while a marker is open (opened by this rule or by the model), only the tokens that continue
  it into a valid ``[n]`` are allowed, the best of them by the model's own logits: the passage
  number is the model's choice. After ``]`` the answer may end.

Markers follow the tokenizer's split of a training target, ``format_answer("Paris", [n])``
(SmolLM2: ``Paris``, `` [``, ``1``, ``2``, ``]`` for ``[12]``), so a fine-tuned model meets the
tokens it was trained on. The marker token sequences are computed once per tokenizer and k; a
step costs a few dict lookups, plus one decode when the model wants to end or the budget
runs low.

Not handled: a budget shorter than a marker; an answer that is a refusal's start when the
budget runs low; a marker that does not begin with the opening token (the second of
``[1][2]``, written ``][``) is not constrained, and the citation check drops it when it is
invalid."""

from dataclasses import dataclass
from typing import Any

from models.prompt import REFUSAL, format_answer, parse_citations
from rag.errors import ConfigError

_ANSWER = "Paris"  # any short answer: a marker's tokens are what follows it in a target


@dataclass(frozen=True)
class _Markers:
    """The token sequences of the valid markers ``[1]`` .. ``[k]``, as a prefix tree."""

    following: dict[tuple[int, ...], list[int]]  # each proper prefix (the empty one too) -> its next tokens
    longest: int  # tokens in the longest marker

    def continuation(self, answer_ids: list[int]) -> list[int] | None:
        """The tokens allowed next when ``answer_ids`` ends inside a marker, else None."""
        for length in range(min(self.longest - 1, len(answer_ids)), 0, -1):
            allowed = self.following.get(tuple(answer_ids[-length:]))
            if allowed is not None:
                return allowed
        return None


class CitationConstraint:
    def __init__(self, tokenizer: Any, end_ids: frozenset[int]):
        self._tokenizer = tokenizer
        self._end_ids = end_ids
        self._markers_by_k: dict[int, _Markers] = {}

    def next_token(self, answer_ids: list[int], logits: Any, *, n_passages: int | None, max_new_tokens: int) -> int:
        """The greedy next token of an answer (``answer_ids`` so far, at most
        ``max_new_tokens``) to ``n_passages`` passages; the plain argmax of ``logits`` when
        ``n_passages`` is None or 0."""
        best = int(logits.argmax())
        if not n_passages:
            return best
        markers = self._markers(n_passages)
        allowed = markers.continuation(answer_ids)
        last_chance = max_new_tokens - len(answer_ids) == markers.longest
        if allowed is None and (best in self._end_ids or last_chance) and self._needs_citation(answer_ids, n_passages):
            allowed = markers.following[()]
        if allowed is None:
            return best
        return allowed[int(logits[allowed].argmax())]

    def _needs_citation(self, answer_ids: list[int], n_passages: int) -> bool:
        text = self._tokenizer.decode(answer_ids, skip_special_tokens=True).strip()
        refusal = REFUSAL.startswith(text) or REFUSAL in text
        return not refusal and not parse_citations(text, n_passages).valid

    def _markers(self, n_passages: int) -> _Markers:
        if n_passages not in self._markers_by_k:
            following: dict[tuple[int, ...], set[int]] = {}
            sequences = [self._marker_ids(n) for n in range(1, n_passages + 1)]
            for marker in sequences:
                for i in range(len(marker)):
                    following.setdefault(marker[:i], set()).add(marker[i])
            self._markers_by_k[n_passages] = _Markers(
                {prefix: sorted(ids) for prefix, ids in following.items()}, max(map(len, sequences))
            )
        return self._markers_by_k[n_passages]

    def _marker_ids(self, n: int) -> tuple[int, ...]:
        answer = self._tokenizer(_ANSWER, add_special_tokens=False).input_ids
        target = self._tokenizer(format_answer(_ANSWER, [n]), add_special_tokens=False).input_ids
        if target[: len(answer)] != answer:
            raise ConfigError(
                f"this tokenizer splits {format_answer(_ANSWER, [n])!r} across the answer and its marker, "
                "so citations cannot be forced; serve it with RAG_FORCE_CITATIONS=false."
            )
        return tuple(target[len(answer) :])

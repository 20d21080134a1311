"""Citation markers as token trees, and free decoding's citation rule: an answer to k numbered
passages ends with a valid ``[n]``.

``MarkerBook`` holds the token sequences of the markers ``[1]`` .. ``[k]`` (or of a chosen few
numbers, as copy decoding needs: ``models.copy_constraint``). With ``RAG_DECODING=free`` the
greedy loop (``models.generator.HFGenerator``) takes each token from
``CitationConstraint.next_token`` instead of the plain argmax. The rules, for the answer
decoded so far:

- an answer that is empty, the start of the refusal sentence or holds it is left alone: a
  refusal needs no citation;
- any other answer without a valid marker (1 <= n <= k) opens one, with the best token that
  opens a marker: in place of an end token when the model wants to end, and at the latest when
  only the longest marker's length is left of ``max_new_tokens`` (the base model seldom ends
  within the budget; its answer then spends its last tokens on the marker);
- while a marker is open (opened by this rule or by the model), only the tokens that continue
  it into a valid ``[n]`` are allowed, the best of them by the model's own logits; when the
  answer written before the marker is text of some of the passages (``passages_holding``), only
  their numbers are allowed, so a copied answer cites the passage it came from; otherwise the
  passage number is the model's choice. After ``]`` the answer may end.

Markers follow the tokenizer's split of a training target, ``format_answer("Paris", [n])``
(SmolLM2: ``Paris``, `` [``, ``1``, ``2``, ``]`` for ``[12]``), so a fine-tuned model meets the
tokens it was trained on. The marker token sequences are computed once per tokenizer and set of
numbers; a step costs a few dict lookups, plus one decode when the model wants to end or the budget
runs low.

Not handled: a budget shorter than a marker; an answer that is a refusal's start when the
budget runs low; a marker that does not begin with the opening token (the second of
``[1][2]``, written ``][``) is not constrained, and the citation check drops it when it is
invalid."""

import re
from dataclasses import dataclass
from typing import Any

from core.errors import ConfigError
from models.prompt import REFUSAL, format_answer, is_refusal, parse_citations

_ANSWER = "Paris"  # any short answer: a marker's tokens are what follows it in a target
_OPEN_MARKER = re.compile(r"\s*\[[\d\s,]*$")  # a marker being written at the end of an answer
_EDGE_PUNCTUATION = " \t\n.,;:!?\"'()"


def _normalised(text: str) -> str:
    return " ".join(text.lower().split())


def passages_holding(answer: str, passages: list[str]) -> tuple[int, ...]:
    """The numbers (from 1) of the passages whose text holds ``answer`` (case and spacing aside,
    punctuation at its ends dropped); empty for an empty answer."""
    wanted = _normalised(answer).strip(_EDGE_PUNCTUATION)
    if not wanted:
        return ()
    return tuple(n for n, passage in enumerate(passages, start=1) if wanted in _normalised(passage))


@dataclass(frozen=True)
class Markers:
    """The token sequences of some valid markers (``[1]`` .. ``[k]``, or a chosen few), as a
    prefix tree."""

    following: dict[tuple[int, ...], list[int]]  # each proper prefix (the empty one too) -> its next tokens
    longest: int  # tokens in the longest marker

    def continuation(self, answer_ids: list[int]) -> list[int] | None:
        """The tokens allowed next when ``answer_ids`` ends inside a marker, else None."""
        for length in range(min(self.longest - 1, len(answer_ids)), 0, -1):
            allowed = self.following.get(tuple(answer_ids[-length:]))
            if allowed is not None:
                return allowed
        return None


class MarkerBook:
    """The marker trees of one tokenizer, by the passage numbers they allow (computed once each)."""

    def __init__(self, tokenizer: Any):
        self._tokenizer = tokenizer
        self._trees: dict[tuple[int, ...], Markers] = {}

    def markers(self, numbers: tuple[int, ...]) -> Markers:
        if numbers not in self._trees:
            following: dict[tuple[int, ...], set[int]] = {}
            sequences = [self._marker_ids(n) for n in numbers]
            for marker in sequences:
                for i in range(len(marker)):
                    following.setdefault(marker[:i], set()).add(marker[i])
            self._trees[numbers] = Markers(
                {prefix: sorted(ids) for prefix, ids in following.items()}, max(map(len, sequences))
            )
        return self._trees[numbers]

    def _marker_ids(self, n: int) -> tuple[int, ...]:
        answer = self._tokenizer(_ANSWER, add_special_tokens=False).input_ids
        target = self._tokenizer(format_answer(_ANSWER, [n]), add_special_tokens=False).input_ids
        if target[: len(answer)] != answer:
            raise ConfigError(
                f"this tokenizer splits {format_answer(_ANSWER, [n])!r} across the answer and its marker, "
                "so citations cannot be forced; serve it with RAG_DECODING=free and RAG_FORCE_CITATIONS=false."
            )
        return tuple(target[len(answer) :])


class CitationConstraint:
    """Free decoding's rule (see the module docstring) for one answer to ``passages``; with
    ``force`` false it leaves every token to the model."""

    def __init__(
        self,
        book: MarkerBook,
        tokenizer: Any,
        end_ids: frozenset[int],
        *,
        passages: list[str],
        force: bool,
        max_new_tokens: int,
    ):
        self._book, self._tokenizer = book, tokenizer
        self._end_ids = end_ids
        self._passages = passages if force else []
        self._n_passages = len(self._passages)
        self._max_new_tokens = max_new_tokens
        self._markers = book.markers(tuple(range(1, self._n_passages + 1))) if self._n_passages else None

    def next_token(self, answer_ids: list[int], logits: Any) -> int:
        """The greedy next token of the answer decoded so far (``answer_ids``)."""
        best = int(logits.argmax())
        if self._markers is None:
            return best
        allowed = self._markers.continuation(answer_ids)
        if allowed is not None:
            allowed = self._grounded(answer_ids) or allowed
        last_chance = self._max_new_tokens - len(answer_ids) == self._markers.longest
        if allowed is None and (best in self._end_ids or last_chance) and self._needs_citation(answer_ids):
            allowed = self._markers.following[()]
        if allowed is None:
            return best
        return allowed[int(logits[allowed].argmax())]

    def _grounded(self, answer_ids: list[int]) -> list[int] | None:
        """Inside a marker: its allowed next tokens among the numbers of the passages that hold
        the answer written before it; None when no passage holds it."""
        text = _OPEN_MARKER.sub("", self._tokenizer.decode(answer_ids, skip_special_tokens=True))
        holding = passages_holding(text, self._passages)
        return self._book.markers(holding).continuation(answer_ids) if holding else None

    def _needs_citation(self, answer_ids: list[int]) -> bool:
        text = self._tokenizer.decode(answer_ids, skip_special_tokens=True).strip()
        return (
            not is_refusal(text) and not REFUSAL.startswith(text) and not parse_citations(text, self._n_passages).valid
        )

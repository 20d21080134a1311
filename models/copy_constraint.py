"""Copy decoding: an answer is a span copied from one of the given passages, then the marker of
the passage it was copied from.

Extractive questions have answers that are spans of the passages, so once the model answers
(the refusal is decided before, from its refusal score: ``models.generator``), each token must
continue a span of a passage. The spans are the token sequences of each passage read from each
word start (the first word tokenized afresh, so it has no leading space, as the answer of a
training target ``format_answer`` has none). They are the rows of one array; the
rows that still match the answer so far are the live ones, and the allowed next tokens are the
live rows' next tokens: a prefix tree over every span, walked one token at a time in numpy.

The answer may end (the model prefers its marker's opening token or an end token to every
allowed continuation) only at a word boundary of a live span. The marker is then forced to a
passage the copied span comes from, the model's logits choosing among them when it is in
several; so the citation is right by construction. When only a marker's length of the budget
is left, the marker is forced. A step costs a few vectorised operations over the live rows (a
few thousand at most); ``bench/generate.py`` measures it against the decode step.

Not handled: a span that crosses from one passage into the next; answers that rephrase."""

import re
from typing import Any

import numpy as np

from models.cite_constraint import MarkerBook, Markers

_WORD = re.compile(r"\S+")
_NO_TOKEN = -1


def word_start_tokens(tokenizer: Any) -> np.ndarray:
    """For each token id, whether the token starts a new word: a byte-level BPE token opening
    with a space or newline (``Ġ``, ``Ċ``), or with a character that is not a letter or digit."""
    vocabulary = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    return np.array([bool(t) and (t[0] in "ĠĊ" or not t[0].isalnum()) for t in vocabulary] + [True], dtype=bool)


def _spans(tokenizer: Any, text: str, limit: int) -> list[list[int]]:
    """The token sequence of ``text`` read from each word start, at most ``limit`` tokens: the
    first word tokenized on its own (no leading space), then the text's own tokens from the next
    word on (a byte-level BPE splits at spaces, so they are the same). One pass over the text
    and one batch of words, not a tokenization per word start."""
    words = list(_WORD.finditer(text))
    if not words:
        return []
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, starts = encoded.input_ids, [start for start, _ in encoded.offset_mapping]
    firsts = tokenizer([w.group() for w in words], add_special_tokens=False).input_ids
    spans, position = [], 0
    for word, first in zip(words, firsts):
        while position < len(ids) and starts[position] < word.end():
            position += 1
        spans.append((first + ids[position : position + limit])[:limit])
    return spans


class CopyConstraint:
    """Copy decoding of one answer to ``passages`` (numbered from 1, as in the prompt)."""

    def __init__(
        self,
        tokenizer: Any,
        book: MarkerBook,
        word_starts: np.ndarray,
        passages: list[str],
        end_ids: frozenset[int],
        *,
        max_new_tokens: int,
    ):
        self._book, self._word_starts, self._end_ids = book, word_starts, sorted(end_ids)
        every = book.markers(tuple(range(1, len(passages) + 1))) if passages else None
        self._opening, self._longest = (every.following[()], every.longest) if every else ([], 0)
        self._budget = max_new_tokens
        rows, numbers = [], []
        for n, passage in enumerate(passages, start=1):
            for row in _spans(tokenizer, " ".join(passage.split()), max_new_tokens):
                rows.append(row)
                numbers.append(n)
        self._spans = np.full((len(rows), max_new_tokens + 1), _NO_TOKEN, dtype=np.int64)
        for i, ids in enumerate(rows):
            self._spans[i, : len(ids)] = ids
        self._numbers = np.array(numbers, dtype=np.int64)
        self._live = np.ones(len(rows), dtype=bool)
        self._copied = 0  # span tokens in the answer so far
        self._marker: Markers | None = None
        self._marker_ids: tuple[int, ...] = ()

    @property
    def span_count(self) -> int:
        return len(self._spans)

    def next_token(self, answer_ids: list[int], logits: Any) -> int | None:
        """The next token of the answer decoded so far, or None when it is complete."""
        if self._marker is not None:
            return self._next_marker_token(logits)
        column = self._spans[self._live, self._copied]
        allowed = np.unique(column[column != _NO_TOKEN]).tolist()
        boundary = self._at_boundary()
        can_end = self._copied > 0 and boundary.any()
        if can_end and (not allowed or len(answer_ids) + self._longest >= self._budget):
            return self._open_marker(boundary, logits)
        if not allowed:
            return None  # no passage text to copy from
        scores = logits[allowed]
        best = allowed[int(scores.argmax())]
        if can_end and float(logits[self._opening + self._end_ids].max()) > float(scores.max()):
            return self._open_marker(boundary, logits)
        self._live &= self._spans[:, self._copied] == best
        self._copied += 1
        return best

    def _at_boundary(self) -> np.ndarray:
        """The live spans at whose current position the copied text ends a word (``_NO_TOKEN``,
        a span's end, indexes the last entry of ``word_starts``, which is True)."""
        return self._live & self._word_starts[self._spans[:, self._copied]]

    def _source_numbers(self, rows: np.ndarray) -> list[int]:
        return sorted(set(self._numbers[rows].tolist()))

    def _open_marker(self, boundary: np.ndarray, logits: Any) -> int | None:
        self._marker = self._book.markers(tuple(self._source_numbers(boundary)))
        return self._next_marker_token(logits)

    def _next_marker_token(self, logits: Any) -> int | None:
        allowed = self._marker.following.get(self._marker_ids)
        if allowed is None:
            return None  # the marker is whole: the answer ends
        token = allowed[int(logits[allowed].argmax())]
        self._marker_ids += (token,)
        return token

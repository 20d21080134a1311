"""Cutting paragraphs into windows of whole words, so that a prompt with several passages stays
short. The gold window always holds the answer span; where in the window it falls is seeded,
so the model cannot learn "the answer is in the middle"."""

import random
import re
from dataclasses import dataclass

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Window:
    text: str
    answer_start: int | None = None  # character offset of the answer inside ``text``


def _word_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _WORD.finditer(text)]


def word_windows(text: str, size: int) -> list[str]:
    """Consecutive windows of ``size`` words (the last may be shorter), original spacing kept."""
    spans = _word_spans(text)
    return [text[spans[i][0] : spans[min(i + size, len(spans)) - 1][1]] for i in range(0, len(spans), size)]


def answer_window(text: str, answer: str, answer_start: int, size: int, rng: random.Random) -> Window:
    """A window of about ``size`` words that contains ``text[answer_start:][:len(answer)]``
    whole, at a seeded position; a longer answer gets a window just covering it."""
    spans = _word_spans(text)
    answer_end = answer_start + len(answer)
    first = next(i for i, (_, end) in enumerate(spans) if end > answer_start)
    last = max(i for i, (start, _) in enumerate(spans) if start < answer_end)
    if last - first + 1 >= size:
        start_word, end_word = first, last
    else:
        lowest = max(0, last - size + 1)
        start_word = rng.randint(lowest, max(lowest, min(first, len(spans) - size)))
        end_word = min(len(spans), start_word + size) - 1
    char_start = spans[start_word][0]
    return Window(text[char_start : spans[end_word][1]], answer_start - char_start)


def random_window(text: str, size: int, rng: random.Random) -> str:
    """One of the paragraph's ``size``-word windows, chosen by ``rng``."""
    return rng.choice(word_windows(text, size))

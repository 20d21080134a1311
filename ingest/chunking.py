"""Sentence-aware chunking by the embedder's tokens, a pure function.

The cleaned text is tokenised once (with character offsets). Sentences are packed into
chunks of at most ``max_tokens`` tokens; a sentence longer than that is cut by tokens.
The next chunk repeats the previous chunk's last sentences that fit in ``overlap`` tokens.
Every chunk keeps its character span, so ``text[start:end] == chunk.text``."""

import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int
    text: str
    token_count: int
    pages: tuple[int, ...] = ()  # page numbers the span touches; empty without pages


def token_offsets(tokenizer: Any, text: str) -> list[tuple[int, int]]:
    """Character offsets of each token (no special tokens), from a fast HF tokenizer."""
    encoded = tokenizer(
        text, add_special_tokens=False, truncation=False, return_offsets_mapping=True,
        return_attention_mask=False, return_token_type_ids=False, verbose=False,
    )
    return encoded["offset_mapping"]


def sentence_units(offsets: list[tuple[int, int]], text: str, max_tokens: int) -> list[tuple[int, int]]:
    """Token ranges ``[first, last)`` of sentences, each cut to at most ``max_tokens``."""
    starts = [0] + [m.end() for m in _SENTENCE_END.finditer(text)]
    units, first, boundary = [], 0, 1
    for index in range(1, len(offsets) + 1):
        at_boundary = False
        while boundary < len(starts) and index < len(offsets) and offsets[index][0] >= starts[boundary]:
            boundary += 1
            at_boundary = True
        if at_boundary or index == len(offsets) or index - first == max_tokens:
            units.append((first, index))
            first = index
    return units


def pack_units(units: list[tuple[int, int]], max_tokens: int, overlap: int) -> list[tuple[int, int]]:
    """Group consecutive units into token ranges of at most ``max_tokens``, each after the
    first starting with the previous range's trailing units that fit in ``overlap``."""
    ranges, i = [], 0
    while i < len(units):
        j = i
        while j < len(units) and units[j][1] - units[i][0] <= max_tokens:
            j += 1
        ranges.append((units[i][0], units[j - 1][1]))
        if j == len(units):
            break
        back = j
        while back - 1 > i and units[j - 1][1] - units[back - 1][0] <= overlap:
            back -= 1
        i = back
    return ranges


def span_pages(start: int, end: int, page_starts: list[tuple[int, int]]) -> tuple[int, ...]:
    """Numbers of the pages (``(start offset, number)``, in order) that ``[start, end)`` touches."""
    offsets = [offset for offset, _ in page_starts]
    first, last = max(bisect_right(offsets, start) - 1, 0), bisect_right(offsets, max(end - 1, start))
    return tuple(number for _, number in page_starts[first:last])


def chunk_text(
    text: str, tokenizer: Any, max_tokens: int, overlap: int, page_starts: list[tuple[int, int]] = ()
) -> list[Chunk]:
    """Chunks of ``text`` (already cleaned) with their character spans and pages."""
    offsets = token_offsets(tokenizer, text)
    if not offsets:
        return []
    ranges = pack_units(sentence_units(offsets, text, max_tokens), max_tokens, overlap)
    chunks = []
    for first, last in ranges:
        start, end = offsets[first][0], offsets[last - 1][1]
        chunks.append(Chunk(start, end, text[start:end], last - first, span_pages(start, end, list(page_starts))))
    return chunks

"""Sentence-aware chunking by the embedder's tokens, a pure function.

The cleaned text is tokenised (with character offsets) one segment at a time: segments of at
most ``SEGMENT_CHARS`` characters, cut at a paragraph, line, sentence or word boundary, so the
tokenizer's memory stays bounded whatever the size of the file (a whole 20 MB text at once
took about 3 GB). A chunk never spans two segments. Within a segment, sentences are packed into
chunks of at most ``max_tokens`` tokens; a sentence longer than that is cut by tokens.
The next chunk repeats the previous chunk's last sentences that fit in ``overlap`` tokens.
Every chunk keeps its character span, so ``text[start:end] == chunk.text``."""

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")
SEGMENT_CHARS = 100_000
_SEGMENT_CUTS = ("\n\n", "\n", ". ", " ")


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
        text,
        add_special_tokens=False,
        truncation=False,
        return_offsets_mapping=True,
        return_attention_mask=False,
        return_token_type_ids=False,
        verbose=False,
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


def segments(text: str, size: int) -> Iterator[tuple[int, int]]:
    """``[start, end)`` ranges covering ``text``, each at most ``size`` characters, cut after the
    last paragraph, line, sentence or word boundary in its second half (else at ``size``)."""
    start = 0
    while len(text) - start > size:
        window = text[start : start + size]
        cut = next((window.rfind(sep) + len(sep) for sep in _SEGMENT_CUTS if window.rfind(sep) >= size // 2), size)
        yield start, start + cut
        start += cut
    yield start, len(text)


def chunk_text(
    text: str,
    tokenizer: Any,
    max_tokens: int,
    overlap: int,
    page_starts: list[tuple[int, int]] = (),
    segment_chars: int = SEGMENT_CHARS,
) -> list[Chunk]:
    """Chunks of ``text`` (already cleaned) with their character spans and pages."""
    chunks = []
    for base, stop in segments(text, segment_chars):
        segment = text[base:stop]
        offsets = token_offsets(tokenizer, segment)
        if not offsets:
            continue
        for first, last in pack_units(sentence_units(offsets, segment, max_tokens), max_tokens, overlap):
            start, end = base + offsets[first][0], base + offsets[last - 1][1]
            chunks.append(Chunk(start, end, text[start:end], last - first, span_pages(start, end, list(page_starts))))
    return chunks

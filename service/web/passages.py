"""A cited passage as the web app's side panel shows it: the chunk's source (uri, collection,
metadata, pages) and the source text around it, rebuilt from the source's stored chunks (each
chunk is ``source_text[char_start:char_end]``; overlaps agree, a gap becomes spaces), with the
chunk's span relative to that text so the page can put it inside ``<mark>``."""

from dataclasses import dataclass
from typing import Any

import psycopg

CONTEXT_CHARS = 1500  # source text shown on each side of the cited span

_CHUNK = (
    "SELECT c.id, c.source_id, c.char_start, c.char_end, c.pages, s.uri, col.name, s.metadata"
    " FROM chunks c JOIN sources s ON s.id = c.source_id JOIN collections col ON col.id = s.collection_id"
    " WHERE c.id = %s AND (%s::text[] IS NULL OR col.name = ANY(%s::text[]))"
)
_NEIGHBOURS = (
    "SELECT char_start, char_end, text FROM chunks"
    " WHERE source_id = %s AND char_end > %s AND char_start < %s ORDER BY char_start, char_end"
)
_SOURCE_END = "SELECT max(char_end) FROM chunks WHERE source_id = %s"


@dataclass(frozen=True)
class PassageView:
    chunk_id: int
    source: str
    collection: str
    metadata: dict[str, Any]
    pages: list[int]
    span: tuple[int, int]  # the chunk in its source text
    context: str  # source text around the chunk
    context_start: int  # where ``context`` begins in the source text
    mark: tuple[int, int]  # the chunk's span inside ``context``
    more_before: bool  # the source text goes on before ``context``
    more_after: bool  # ... and after it


def stitch(pieces: list[tuple[int, int, str]]) -> tuple[int, str]:
    """(start, text) of the source text covered by ``pieces`` (start, end, text), sorted by start:
    overlapping pieces are written once, a gap between two is filled with spaces."""
    if not pieces:
        return 0, ""
    base = pieces[0][0]
    parts: list[str] = []
    cursor = base
    for start, end, text in pieces:
        if end <= cursor:
            continue
        if start > cursor:
            parts.append(" " * (start - cursor))
            cursor = start
        parts.append(text[cursor - start :])
        cursor = end
    return base, "".join(parts)


def passage_view(
    conn: psycopg.Connection, chunk_id: int, collections: list[str] | None, *, context_chars: int = CONTEXT_CHARS
) -> PassageView | None:
    """The chunk with its source text around it, or None when there is no such chunk in the
    given collections (``None``: every collection)."""
    row = conn.execute(_CHUNK, (chunk_id, collections, collections)).fetchone()
    if row is None:
        return None
    _, source_id, start, end, pages, uri, collection, metadata = row
    low, high = max(0, start - context_chars), end + context_chars
    base, text = stitch(conn.execute(_NEIGHBOURS, (source_id, low, high)).fetchall())
    low, high = max(low, base), min(high, base + len(text))
    source_end = conn.execute(_SOURCE_END, (source_id,)).fetchone()[0] or 0
    return PassageView(
        chunk_id=chunk_id,
        source=uri,
        collection=collection,
        metadata=metadata or {},
        pages=list(pages or []),
        span=(start, end),
        context=text[low - base : high - base],
        context_start=low,
        mark=(start - low, end - low),
        more_before=low > 0,
        more_after=high < source_end,
    )

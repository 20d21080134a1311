"""What the Logs page reads (admin only): recent exchanges with their ratings, filterable by
rating, refused and no-valid-citation (``recent_logs``), and one exchange in full
(``log_detail``: the row as ``GET /logs/{id}`` gives it, each passage with its source and
text, the model's registry name)."""

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from answering.export import log_record
from retrieval.filters import CHUNK_JOIN

_RECENT = (
    "SELECT g.id, g.created_at, g.session_id, g.query, g.answer, g.refused, g.no_valid_citation, g.status,"
    " g.total_ms, g.model_id, fb.ratings, fb.mean_score, fb.scores"
    " FROM generation_logs g LEFT JOIN LATERAL (SELECT count(*) AS ratings, avg(f.score)::float AS mean_score,"
    "  coalesce(array_agg(f.score ORDER BY f.id) FILTER (WHERE f.id IS NOT NULL), '{}') AS scores"
    "  FROM feedback f WHERE f.log_id = g.id) fb ON true"
    " WHERE (%(rated)s::boolean IS NULL OR (fb.ratings > 0) = %(rated)s)"
    " AND (%(score)s::smallint IS NULL OR %(score)s::smallint = ANY(fb.scores))"
    " AND (%(refused)s::boolean IS NULL OR g.refused = %(refused)s)"
    " AND (%(no_valid_citation)s::boolean IS NULL OR g.no_valid_citation = %(no_valid_citation)s)"
    " AND (%(before)s::bigint IS NULL OR g.id < %(before)s)"
    " ORDER BY g.id DESC LIMIT %(limit)s"
)
_PASSAGES = (
    f"SELECT c.id, s.id AS source_id, s.uri, col.name AS collection, c.text FROM {CHUNK_JOIN} WHERE c.id = ANY(%s)"
)
_MODEL_NAME = "SELECT name, kind FROM models WHERE id = %s"


@dataclass(frozen=True)
class LogFilter:
    """Which exchanges to list; None: either way. ``rating``: 'rated', 'unrated' or a score 1-5
    that one of its ratings gave."""

    rating: str | None = None
    refused: bool | None = None
    no_valid_citation: bool | None = None
    before: int | None = None  # only ids below this (the next page)
    limit: int = 50

    def params(self) -> dict[str, Any]:
        rated = {"rated": True, "unrated": False}.get(self.rating or "")
        score = int(self.rating) if self.rating and self.rating.isdigit() else None
        return {
            "rated": rated,
            "score": score,
            "refused": self.refused,
            "no_valid_citation": self.no_valid_citation,
            "before": self.before,
            "limit": self.limit,
        }


def recent_logs(conn: psycopg.Connection, which: LogFilter) -> list[dict[str, Any]]:
    """The newest exchanges that pass ``which``, newest first, with their ratings."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(_RECENT, which.params()).fetchall()


def log_detail(conn: psycopg.Connection, log_id: int) -> dict[str, Any]:
    """The log row with each passage's source uri, collection and text (None once deleted) and
    the model's name; NotFoundError when there is no such log."""
    record = log_record(conn, log_id)
    ids = [p["chunk_id"] for p in record["passages"]]
    with conn.cursor(row_factory=dict_row) as cur:
        chunks = {row["id"]: row for row in cur.execute(_PASSAGES, (ids,))}
        model = cur.execute(_MODEL_NAME, (record["model_id"],)).fetchone() if record["model_id"] else None
    empty = {"source_id": None, "uri": None, "collection": None, "text": None}
    record["passages"] = [p | {k: chunks.get(p["chunk_id"], empty)[k] for k in empty} for p in record["passages"]]
    record["model"] = model
    return record

"""Generation logs as plain JSON documents: one log with its passages and feedback
(``log_record``, what ``GET /logs/{id}`` returns), and the rated exchanges written as JSONL for
fine-tuning (``export_rated``, what ``rag logs export`` and a DVC stage run)."""

import json
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from core.errors import NotFoundError

_PASSAGES = (
    "SELECT coalesce(jsonb_agg(jsonb_build_object('rank', p.rank, 'chunk_id', p.chunk_id, 'score', p.score,"
    " 'bm25_score', p.bm25_score, 'dense_score', p.dense_score,"
    " 'chunk_deleted', NOT EXISTS (SELECT 1 FROM chunks c WHERE c.id = p.chunk_id)) ORDER BY p.rank), '[]')"
    " FROM generation_passages p WHERE p.log_id = g.id"
)
_FEEDBACK = (
    "SELECT coalesce(jsonb_agg(jsonb_build_object('id', f.id, 'score', f.score, 'comment', f.comment,"
    " 'key_id', f.key_id, 'created_at', f.created_at) ORDER BY f.id), '[]')"
    " FROM feedback f WHERE f.log_id = g.id"
)
_RECORD = f"SELECT g.*, ({_PASSAGES}) AS passages, ({_FEEDBACK}) AS feedback FROM generation_logs g"


def log_record(conn: psycopg.Connection, log_id: int) -> dict[str, Any]:
    """One generation log row with its passages (by rank) and its feedback."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(f"{_RECORD} WHERE g.id = %s", (log_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no generation log {log_id}; use the log_id of a /generate response.")
    return row


def rated_records(conn: psycopg.Connection, *, min_score: int = 4) -> list[dict[str, Any]]:
    """Complete exchanges whose mean feedback score is at least ``min_score``, oldest first;
    each has its ``score`` (the mean) and ``ratings`` (how many)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"WITH rated AS (SELECT log_id, avg(score)::float AS score, count(*) AS ratings"
            f" FROM feedback GROUP BY log_id HAVING avg(score) >= %s)"
            f" SELECT r.*, rated.score, rated.ratings FROM rated"
            f" JOIN ({_RECORD}) r ON r.id = rated.log_id WHERE r.status = 'complete' ORDER BY r.id",
            (min_score,),
        ).fetchall()


def export_rated(conn: psycopg.Connection, out: Path, *, min_score: int = 4) -> int:
    """Write ``rated_records`` to ``out`` as JSONL (replacing it whole); return how many."""
    records = rated_records(conn, min_score=min_score)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    partial.replace(out)
    return len(records)

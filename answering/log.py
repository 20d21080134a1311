"""The generation log writer: one ``generation_logs`` row per request and its
``generation_passages`` rows, in one transaction, with PII redacted from every stored text
that carries the user's words (query, standalone query, prompt, answer, session id, the
filter values of the request) unless turned off.

A session belongs to the key that started it: its turns are looked up by session id *and* key,
so another key never continues it (the service answers that key with a 404)."""

from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from answering.redact import redact_pii, redact_values
from models.prompt import TEMPLATE, PromptTemplate, store_template


@dataclass(frozen=True)
class LoggedPassage:
    chunk_id: int
    score: float
    bm25_score: float | None
    dense_score: float | None


@dataclass(frozen=True)
class LogEntry:
    session_id: str
    parent_log_id: int | None
    key_id: int | None
    query: str
    rewritten_query: str
    request: dict[str, Any]
    prompt: str | None
    answer: str
    citations: list[dict[str, Any]]
    invalid_citations: list[str]
    refused: bool
    no_valid_citation: bool
    status: str
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    retrieve_ms: float
    generate_ms: float
    total_ms: float
    model_id: int | None
    model_sha256: str | None
    index_build_id: int | None
    passages: list[LoggedPassage] = field(default_factory=list)
    template: PromptTemplate = TEMPLATE
    dataset_version_id: int | None = None
    policy: dict[str, Any] = field(default_factory=dict)  # the answer policy (models.policy)
    signals: dict[str, Any] = field(default_factory=dict)  # relevance, refusal_score, refused_by


def redacted(entry: LogEntry) -> LogEntry:
    """``entry`` with PII replaced in every text that holds the user's words."""
    return replace(
        entry,
        query=redact_pii(entry.query),
        rewritten_query=redact_pii(entry.rewritten_query),
        prompt=None if entry.prompt is None else redact_pii(entry.prompt),
        answer=redact_pii(entry.answer),
        session_id=redact_pii(entry.session_id),
        request=redact_values(entry.request),
    )


def stored_session_id(session_id: str, *, redact: bool) -> str:
    """The session id as the log stores it (``redacted`` replaces its PII too)."""
    return redact_pii(session_id) if redact else session_id


def previous_turn(conn: psycopg.Connection, session_id: str, key_id: int | None) -> tuple[int, str] | None:
    """The last turn of ``key_id``'s session (as stored): its log id and standalone query."""
    return conn.execute(
        "SELECT id, rewritten_query FROM generation_logs WHERE session_id = %s AND key_id IS NOT DISTINCT FROM %s"
        " ORDER BY id DESC LIMIT 1",
        (session_id, key_id),
    ).fetchone()


def owned_by_another_key(conn: psycopg.Connection, session_id: str, key_id: int | None) -> bool:
    """Whether a session with this (stored) id was started by a different key."""
    return conn.execute(
        "SELECT EXISTS (SELECT 1 FROM generation_logs WHERE session_id = %s AND key_id IS DISTINCT FROM %s)",
        (session_id, key_id),
    ).fetchone()[0]


def passages_dataset_version(conn: psycopg.Connection, chunk_ids: list[int]) -> int | None:
    """The newest dataset version among the sources of these chunks (None when unversioned)."""
    return conn.execute(
        "SELECT max(s.dataset_version_id) FROM chunks c JOIN sources s ON s.id = c.source_id WHERE c.id = ANY(%s)",
        (chunk_ids,),
    ).fetchone()[0]


def write_log(conn: psycopg.Connection, entry: LogEntry, *, redact: bool = True) -> int:
    """Store ``entry`` and its passages together; return the log id."""
    if redact:
        entry = redacted(entry)
    with conn.transaction():
        store_template(conn, entry.template)
        log_id = _insert_log(conn, entry)
        _insert_passages(conn, log_id, entry.passages)
    return log_id


def _insert_log(conn: psycopg.Connection, entry: LogEntry) -> int:
    return conn.execute(
        "INSERT INTO generation_logs (session_id, parent_log_id, key_id, query, rewritten_query, request,"
        " template_id, template_version, prompt, answer, citations, invalid_citations, refused,"
        " no_valid_citation, status, error, prompt_tokens, completion_tokens, retrieve_ms, generate_ms,"
        " total_ms, model_id, model_sha256, index_build_id, dataset_version_id, policy, signals)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s) RETURNING id",
        (
            entry.session_id,
            entry.parent_log_id,
            entry.key_id,
            entry.query,
            entry.rewritten_query,
            Jsonb(entry.request),
            entry.template.id,
            entry.template.version,
            entry.prompt,
            entry.answer,
            Jsonb(entry.citations),
            Jsonb(entry.invalid_citations),
            entry.refused,
            entry.no_valid_citation,
            entry.status,
            entry.error,
            entry.prompt_tokens,
            entry.completion_tokens,
            entry.retrieve_ms,
            entry.generate_ms,
            entry.total_ms,
            entry.model_id,
            entry.model_sha256,
            entry.index_build_id,
            entry.dataset_version_id,
            Jsonb(entry.policy),
            Jsonb(entry.signals),
        ),
    ).fetchone()[0]


def _insert_passages(conn: psycopg.Connection, log_id: int, passages: list[LoggedPassage]) -> None:
    """The passages by rank, from 1."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO generation_passages (log_id, rank, chunk_id, score, bm25_score, dense_score)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            [
                (log_id, rank, p.chunk_id, p.score, p.bm25_score, p.dense_score)
                for rank, p in enumerate(passages, start=1)
            ],
        )

"""The question-answering pipeline behind ``POST /generate``, ``rag ask``, ``rag eval qa
--context retrieved`` and ``rag replay``.

One request: find the session's previous turn and rewrite a follow-up into a standalone
query; retrieve the top k passages (hybrid); answer from them with the one answer function
(``answering.answer``) under the model's answer policy; name the cited chunks; write the log row
(with the policy and the refusal signals) and its passage rows in one transaction. ``stream``
yields the answer's text pieces then the ``AnswerResult``; a consumer that stops early (a
client gone) still gets its row, marked ``incomplete``."""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from typing import Any

import psycopg

from answering.answer import Answer, answer_stream
from answering.followup import rewrite_follow_up
from answering.log import LogEntry, LoggedPassage, passages_dataset_version, previous_turn, stored_session_id, write_log
from core.settings import Settings
from index.builds import latest_ingest_stamp
from models.generator import Generator
from models.policy import AnswerPolicy
from models.registry import ModelRecord
from retrieval.base import Searcher
from retrieval.filters import Filter, collection_filter


@dataclass(frozen=True)
class AnswerRequest:
    query: str
    k: int = 5
    filters: list[Filter] | None = None
    collections: list[str] | None = None
    session_id: str | None = None
    max_new_tokens: int | None = None
    key_id: int | None = None


@dataclass(frozen=True)
class AnswerResult:
    """Exactly the ``/generate`` response."""

    answer: str
    refused: bool
    citations: list[dict[str, Any]]  # {n, chunk_id, source, span}
    passages: list[dict[str, Any]]  # {n, chunk_id, source, text, score}
    log_id: int
    session_id: str
    model: dict[str, Any]  # {id, name, kind, sha256}
    timings: dict[str, float]  # {retrieve_ms, generate_ms, total_ms}
    tokens: dict[str, int]  # {prompt, completion}
    signals: dict[str, Any]  # {relevance, refusal_score, refused_by}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Connect = Callable[[], AbstractContextManager[psycopg.Connection]]


@dataclass(frozen=True)
class _Turn:
    """A request after retrieval: everything the log row needs before generation."""

    request: AnswerRequest
    started: float
    session_id: str
    parent_log_id: int | None
    rewritten_query: str
    hits: list[Any]
    retrieve_ms: float


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


class Answerer:
    def __init__(
        self,
        settings: Settings,
        *,
        searcher: Searcher,
        generator: Generator,
        model: ModelRecord,
        policy: AnswerPolicy,
        connect: Connect,
    ):
        self.settings = settings
        self.searcher = searcher
        self.generator = generator
        self.model = model
        self.policy = policy
        self._connect = connect

    def answer(self, request: AnswerRequest) -> AnswerResult:
        *_, result = self.stream(request)
        return result

    def close(self) -> None:
        self.searcher.close()

    def stream(self, request: AnswerRequest) -> Iterator[str | AnswerResult]:
        """The answer's text pieces as they are decoded, then the ``AnswerResult``."""
        turn = self._retrieve(request)
        started = time.perf_counter()
        answer = answer_stream(
            turn.rewritten_query,
            [hit.text for hit in turn.hits],
            generator=self.generator,
            embedder=self.searcher.embedder,
            policy=self.policy,
            max_new_tokens=request.max_new_tokens,
        )
        try:  # the model runs inside: its failure is logged
            yield from answer
        except GeneratorExit:
            answer.close()
            self._finish(turn, answer.result(), generate_ms=_ms(started), status="incomplete")
            raise
        except Exception as exc:
            self._finish(turn, answer.result(), generate_ms=_ms(started), status="failed", error=repr(exc))
            raise
        yield self._finish(turn, answer.result(), generate_ms=_ms(started), status="complete")

    def _retrieve(self, request: AnswerRequest) -> _Turn:
        started = time.perf_counter()
        previous = None
        if request.session_id:
            with self._connect() as conn:
                session = stored_session_id(request.session_id, redact=self.settings.redact_pii)
                previous = previous_turn(conn, session, request.key_id)
        rewritten = rewrite_follow_up(request.query, previous[1] if previous else None)
        filters = list(request.filters or [])
        if request.collections:
            filters.append(collection_filter(request.collections))
        hits = self.searcher.search(rewritten, k=request.k, mode="hybrid", filters=filters)
        return _Turn(
            request=request,
            started=started,
            session_id=request.session_id or uuid.uuid4().hex,
            parent_log_id=previous[0] if previous else None,
            rewritten_query=rewritten,
            hits=hits,
            retrieve_ms=_ms(started),
        )

    def _finish(
        self, turn: _Turn, answer: Answer, *, generate_ms: float, status: str, error: str | None = None
    ) -> AnswerResult:
        citations = [
            {"n": n, "chunk_id": hit.chunk_id, "source": hit.source, "span": list(hit.span), "pages": hit.pages}
            for n in answer.cited
            for hit in [turn.hits[n - 1]]
        ]
        timings = {"retrieve_ms": turn.retrieve_ms, "generate_ms": generate_ms, "total_ms": _ms(turn.started)}
        request = turn.request
        with self._connect() as conn, conn.transaction():
            entry = LogEntry(
                session_id=turn.session_id,
                parent_log_id=turn.parent_log_id,
                key_id=request.key_id,
                query=request.query,
                rewritten_query=turn.rewritten_query,
                request={
                    "k": request.k,
                    "filters": [asdict(f) for f in request.filters or []],
                    "collections": request.collections,
                    "max_new_tokens": request.max_new_tokens,
                },
                prompt=answer.prompt,
                answer=answer.text,
                citations=citations,
                invalid_citations=answer.invalid_markers,
                refused=answer.refused,
                no_valid_citation=not answer.refused and not citations,
                status=status,
                error=error,
                prompt_tokens=answer.prompt_tokens,
                completion_tokens=answer.completion_tokens,
                model_id=self.model.id,
                model_sha256=self.model.sha256,
                index_build_id=latest_ingest_stamp(conn) or None,
                dataset_version_id=passages_dataset_version(conn, [h.chunk_id for h in turn.hits]),
                passages=[
                    LoggedPassage(h.chunk_id, h.score, h.scores.get("bm25"), h.scores.get("dense")) for h in turn.hits
                ],
                policy=self.policy.to_dict(),
                signals=answer.signals(),
                **timings,
            )
            log_id = write_log(conn, entry, redact=self.settings.redact_pii)
        return AnswerResult(
            answer=answer.text,
            refused=answer.refused,
            citations=citations,
            passages=[
                {"n": n, "chunk_id": h.chunk_id, "source": h.source, "text": h.text, "score": h.score}
                for n, h in enumerate(turn.hits, start=1)
            ],
            log_id=log_id,
            session_id=turn.session_id,
            model=self.model.summary(),
            timings=timings,
            tokens={"prompt": answer.prompt_tokens, "completion": answer.completion_tokens},
            signals=answer.signals(),
        )


def answer_unlogged(answerer: Answerer, conn: psycopg.Connection, request: AnswerRequest) -> AnswerResult:
    """``answerer.answer(request)`` inside a transaction on ``conn`` that is rolled back, so its
    log row never lands: for evaluation and replay, whose answers are not exchanges."""
    conn.execute("SELECT 1")  # opens the transaction the pipeline's own blocks nest in
    unlogged = Answerer(
        answerer.settings,
        searcher=answerer.searcher,
        generator=answerer.generator,
        model=answerer.model,
        policy=answerer.policy,
        connect=lambda: nullcontext(conn),
    )
    try:
        return unlogged.answer(request)
    finally:
        conn.rollback()

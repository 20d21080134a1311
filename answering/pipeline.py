"""The question-answering pipeline behind ``POST /generate`` and ``rag ask``.

One request: find the session's previous turn and rewrite a follow-up into a standalone
query; retrieve the top k passages (hybrid); refuse without calling the model when the best
passage's dense cosine is below ``settings.refusal_threshold``; otherwise render the one
prompt template and decode greedily, citing one of the passages (``models.cite_constraint``);
check the citations; write the log row and its passage rows in one transaction. ``stream``
yields the answer's text pieces then the ``AnswerResult``; a consumer that stops early (a
client gone) still gets its row, marked ``incomplete``."""

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import psycopg
from psycopg_pool import ConnectionPool

from answering.citations import check_citations, is_refusal
from answering.followup import rewrite_follow_up
from answering.log import LogEntry, LoggedPassage, passages_dataset_version, previous_turn, write_log
from models.generator import Generation, Generator
from models.prompt import REFUSAL, render_prompt
from models.registry import ModelRecord
from rag.settings import Settings
from retrieval.bm25_store import latest_ingest_stamp
from retrieval.filters import Filter, collection_filter


class Searcher(Protocol):
    """The part of ``retrieval.searcher.Searcher`` the pipeline uses."""

    def search(self, query: str, *, k: int = 10, mode: str = "hybrid", filters: list[Filter] | None = None) -> list[Any]: ...


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


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
    refused: bool
    prompt: str | None


def best_dense_score(hits: list[Any]) -> float | None:
    """The refusal signal: the highest cosine among the hits (their fused score when the
    query was not embedded); None without hits."""
    scores = [hit.scores.get("dense") if hit.scores.get("dense") is not None else hit.score for hit in hits]
    return max(scores, default=None)


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
        pool_or_connect: ConnectionPool | Callable[[], AbstractContextManager[psycopg.Connection]],
    ):
        self.settings = settings
        self.searcher = searcher
        self.generator = generator
        self.model = model
        self._pool_or_connect = pool_or_connect

    def answer(self, request: AnswerRequest) -> AnswerResult:
        *_, result = self.stream(request)
        return result

    def stream(self, request: AnswerRequest) -> Iterator[str | AnswerResult]:
        """The answer's text pieces as they are decoded, then the ``AnswerResult``."""
        turn = self._retrieve(request)
        if turn.refused:
            yield REFUSAL
            yield self._finish(turn, Generation(REFUSAL, 0, 0), generate_ms=0.0, status="complete")
            return
        started = time.perf_counter()
        tokens = self.generator.generate(
            turn.prompt, request.max_new_tokens or self.settings.max_new_tokens, stream=True, n_passages=len(turn.hits)
        )
        try:
            yield from tokens
        except GeneratorExit:
            tokens.close()
            self._finish(turn, tokens.result(), generate_ms=_ms(started), status="incomplete")
            raise
        except Exception as exc:
            self._finish(turn, tokens.result(), generate_ms=_ms(started), status="failed", error=repr(exc))
            raise
        yield self._finish(turn, tokens.result(), generate_ms=_ms(started), status="complete")

    def _connection(self) -> AbstractContextManager[psycopg.Connection]:
        if isinstance(self._pool_or_connect, ConnectionPool):
            return self._pool_or_connect.connection()
        return self._pool_or_connect()

    def _retrieve(self, request: AnswerRequest) -> _Turn:
        started = time.perf_counter()
        previous = None
        if request.session_id:
            with self._connection() as conn:
                previous = previous_turn(conn, request.session_id)
        rewritten = rewrite_follow_up(request.query, previous[1] if previous else None)
        filters = list(request.filters or [])
        if request.collections:
            filters.append(collection_filter(request.collections))
        hits = self.searcher.search(rewritten, k=request.k, mode="hybrid", filters=filters)
        retrieve_ms = _ms(started)
        best = best_dense_score(hits)
        refused = best is None or best < self.settings.refusal_threshold
        prompt = None if refused else render_prompt(rewritten, [hit.text for hit in hits], self.generator.tokenizer)
        return _Turn(
            request=request,
            started=started,
            session_id=request.session_id or uuid.uuid4().hex,
            parent_log_id=previous[0] if previous else None,
            rewritten_query=rewritten,
            hits=hits,
            retrieve_ms=retrieve_ms,
            refused=refused,
            prompt=prompt,
        )

    def _finish(
        self, turn: _Turn, generation: Generation, *, generate_ms: float, status: str, error: str | None = None
    ) -> AnswerResult:
        checked = check_citations(generation.text.strip(), turn.hits)
        timings = {"retrieve_ms": turn.retrieve_ms, "generate_ms": generate_ms, "total_ms": _ms(turn.started)}
        request = turn.request
        refused = turn.refused or is_refusal(checked.answer)
        with self._connection() as conn, conn.transaction():
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
                prompt=turn.prompt,
                answer=checked.answer,
                citations=checked.citations,
                invalid_citations=checked.invalid,
                refused=refused,
                no_valid_citation=checked.no_valid_citation,
                status=status,
                error=error,
                prompt_tokens=generation.prompt_tokens,
                completion_tokens=generation.completion_tokens,
                model_id=self.model.id,
                model_sha256=self.model.sha256,
                index_build_id=latest_ingest_stamp(conn) or None,
                dataset_version_id=passages_dataset_version(conn, [h.chunk_id for h in turn.hits]),
                passages=[LoggedPassage(h.chunk_id, h.score, h.scores.get("bm25"), h.scores.get("dense")) for h in turn.hits],
                **timings,
            )
            log_id = write_log(conn, entry, redact=self.settings.redact_pii)
        return AnswerResult(
            answer=checked.answer,
            refused=refused,
            citations=checked.citations,
            passages=[
                {"n": n, "chunk_id": h.chunk_id, "source": h.source, "text": h.text, "score": h.score}
                for n, h in enumerate(turn.hits, start=1)
            ],
            log_id=log_id,
            session_id=turn.session_id,
            model=self.model.summary(),
            timings=timings,
            tokens={"prompt": generation.prompt_tokens, "completion": generation.completion_tokens},
        )


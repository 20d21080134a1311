"""The OpenAI-compatible API under ``/v1``: ``POST /v1/chat/completions`` (JSON, or with
``"stream": true`` ``chat.completion.chunk`` events ending with ``data: [DONE]``), ``GET
/v1/models`` and ``POST /v1/embeddings``. Same keys, roles, rate limits, logging and PII
redaction as ``/generate`` and ``/search``: a chat completion *is* a ``/generate`` request
(``service.routes.generate``'s request check and response), only the wire format differs.

Models: ``rag`` answers from every collection the key may read, ``rag/<collection>`` from one
(an unknown name is a 404 ``model_not_found``); ``minilm`` is the embedder (384-d, L2-normalised).

Messages: the last message is the question and must be the user's; system and assistant
messages are not read. With the extra field ``session_id`` the question continues that session
of the key exactly as on ``/generate`` (the log holds its previous turn). Without it, the earlier
user messages are the previous turns: ``answering.followup.rewrite_follow_up`` is applied turn by
turn, as a session would, and the standalone question is what the pipeline (and the log) gets.

Grounding: the response (and the last chunk of a stream) carries the extra field ``rag``:
``{citations, passages, log_id, refused, session_id}``; ``usage`` is the answer's token counts.
Errors have OpenAI's shape (``service.openai_errors``)."""

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ValidationError

from answering.followup import rewrite_follow_up
from core.errors import InputError
from service.access import Action, unknown_collections
from service.deps import ServicesDep, require
from service.errors import ApiError
from service.keys import ApiKey
from service.openai_errors import openai_error, openai_error_responses
from service.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChunkChoice,
    Delta,
    Embedding,
    EmbeddingList,
    EmbeddingRequest,
    Grounding,
    ModelCard,
    ModelList,
    Usage,
    usage,
)
from service.routes.generate import answer_request_for, observed_response
from service.schemas import GenerateRequest, GenerateResponse
from service.services import Services
from service.streaming import StreamFailure, threaded_items

router = APIRouter(prefix="/v1", tags=["openai"])

CHAT_MODEL = "rag"
COLLECTION_MODEL = "rag/"
EMBEDDING_MODEL = "minilm"

_STREAM_DOC = {
    "description": 'A `chat.completion`, or with `"stream": true` a `text/event-stream` of '
    "`chat.completion.chunk` data lines, the last with `finish_reason`, `usage` and `rag`, then `data: [DONE]`.",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}
_DONE = b"data: [DONE]\n\n"


@router.get("/models", response_model=ModelList, responses=openai_error_responses(401, 429))
def list_models(services: ServicesDep, key: Annotated[ApiKey, Depends(require(Action.search))]) -> ModelList:
    """The chat models (`rag`, `rag/<collection>` for each collection the key may read) and the
    embedder (`minilm`). Roles: reader, user, admin."""
    with services.pool.connection() as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM collections ORDER BY name")]
    readable = [name for name in names if key.collections is None or name in key.collections]
    ids = [CHAT_MODEL, *(COLLECTION_MODEL + name for name in readable), EMBEDDING_MODEL]
    return ModelList(data=[ModelCard(id=model_id) for model_id in ids])


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={200: _STREAM_DOC, **openai_error_responses(400, 401, 403, 404, 429, 503)},
)
def chat_completions(
    request: ChatCompletionRequest,
    services: ServicesDep,
    key: Annotated[ApiKey, Depends(require(Action.generate))],
) -> Any:
    """A grounded answer to the last user message, as `/generate` gives it. Roles: user, admin."""
    generate_request = _generate_request(request, _collection(request.model, services))
    answer_request = answer_request_for(generate_request, services, key)
    head = _Head(id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()), model=request.model)
    if request.stream:
        items = threaded_items(partial(services.answerer.stream, answer_request), services.answer_slots)
        return StreamingResponse(
            _chunks(items, head, services),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    with services.answer_slots:
        response = observed_response(services, services.answerer.answer(answer_request))
    choice = Choice(message=AssistantMessage(content=response.answer))
    return ChatCompletion(**head.fields(), choices=[choice], usage=usage(response.tokens), rag=_rag(response))


@router.post("/embeddings", response_model=EmbeddingList, responses=openai_error_responses(400, 401, 404, 429))
def embeddings(
    request: EmbeddingRequest, services: ServicesDep, key: Annotated[ApiKey, Depends(require(Action.search))]
) -> EmbeddingList:
    """MiniLM vectors of the texts (L2-normalised; a text past 256 tokens is truncated).
    Roles: reader, user, admin."""
    if request.model != EMBEDDING_MODEL:
        raise _model_not_found(request.model, f"the embedding model is {EMBEDDING_MODEL!r}")
    embedder = services.searcher.embedder
    if request.dimensions not in (None, embedder.dimension):
        raise InputError(f"dimensions: {EMBEDDING_MODEL} has {embedder.dimension} dimensions only; leave it out.")
    texts = request.texts()
    vectors = embedder.embed(texts)
    encoded = {"input_ids": []} if not texts else embedder.tokenizer(texts, truncation=True)
    tokens = sum(len(ids) for ids in encoded["input_ids"])
    return EmbeddingList(
        data=[Embedding(index=i, embedding=_vector(row, request.encoding_format)) for i, row in enumerate(vectors)],
        model=EMBEDDING_MODEL,
        usage=Usage(prompt_tokens=tokens, total_tokens=tokens),
    )


def _vector(row: np.ndarray, encoding_format: str) -> list[float] | str:
    """A vector as floats, or as base64 of its little-endian float32 bytes."""
    if encoding_format == "base64":
        return base64.b64encode(row.astype("<f4").tobytes()).decode()
    return row.tolist()


def _model_not_found(model: str, hint: str) -> ApiError:
    return ApiError(404, "model_not_found", f"model {model!r} does not exist; {hint} (GET /v1/models lists them).")


def _collection(model: str, services: Services) -> str | None:
    """The collection a chat model names (None for ``rag``); 404 for an unknown model."""
    if model == CHAT_MODEL:
        return None
    name = model.removeprefix(COLLECTION_MODEL)
    if model.startswith(COLLECTION_MODEL) and name:
        with services.pool.connection() as conn:
            if not unknown_collections(conn, {name}):
                return name
    raise _model_not_found(model, f"use {CHAT_MODEL!r} or '{COLLECTION_MODEL}<collection>'")


def standalone_question(messages: list[ChatMessage]) -> str:
    """The last user message as a standalone query: each user turn rewritten against the
    previous turn's standalone form (``rewrite_follow_up``), as a session's turns are."""
    previous = None
    for message in messages:
        if message.role == "user":
            previous = rewrite_follow_up(message.text(), previous)
    return previous or ""


def _generate_request(request: ChatCompletionRequest, collection: str | None) -> GenerateRequest:
    """The ``/generate`` request a chat completion request stands for."""
    question = request.messages[-1]
    if question.role != "user":
        raise InputError(f"messages: the last message is the {question.role}'s; end with the user's question.")
    try:
        return GenerateRequest(
            query=question.text() if request.session_id else standalone_question(request.messages),
            k=request.k,
            collection=collection,
            session_id=request.session_id,
            max_new_tokens=request.max_completion_tokens or request.max_tokens,
        )
    except ValidationError as exc:
        raise InputError(f"messages: the question {exc.errors()[0]['msg'].lower()}; send a non-empty one.") from None


def _rag(response: GenerateResponse) -> Grounding:
    return Grounding(
        citations=response.citations,
        passages=response.passages,
        log_id=response.log_id,
        refused=response.refused,
        session_id=response.session_id,
    )


@dataclass(frozen=True)
class _Head:
    """What every chunk of one completion shares."""

    id: str
    created: int
    model: str

    def fields(self) -> dict[str, Any]:
        return {"id": self.id, "created": self.created, "model": self.model}

    def chunk(self, delta: Delta, **extra: Any) -> bytes:
        choice = ChunkChoice(delta=delta, finish_reason=extra.pop("finish_reason", None))
        return _data(ChatCompletionChunk(**self.fields(), choices=[choice], **extra))


def _data(payload: BaseModel | dict[str, Any]) -> bytes:
    """One server-sent event with only a data line (OpenAI's chunks have no event names)."""
    text = payload.model_dump_json(exclude_none=True) if isinstance(payload, BaseModel) else json.dumps(payload)
    return f"data: {text}\n\n".encode()


async def _chunks(items: AsyncIterator[Any], head: _Head, services: Services) -> AsyncIterator[bytes]:
    """The role chunk, a chunk per text piece, the final chunk (finish_reason, usage, rag) and
    ``[DONE]``; a failure mid-stream ends it with an OpenAI-shaped error instead."""
    yield head.chunk(Delta(role="assistant", content=""))
    async for item in items:
        if isinstance(item, StreamFailure):
            message = f"unexpected server error; report error id {item.error_id} to the operator."
            yield _data(openai_error(500, "internal_error", message))
            return
        if isinstance(item, str):
            yield head.chunk(Delta(content=item))
        else:
            response = observed_response(services, item)
            yield head.chunk(Delta(), finish_reason="stop", usage=usage(response.tokens), rag=_rag(response))
    yield _DONE

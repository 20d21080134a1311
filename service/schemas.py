"""Request and response models of every route, so the OpenAPI schema documents each field.

Limits that come from settings (query length, k range) are checked in ``service.limits``
and documented here in the field descriptions."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_QUERY = Field(
    min_length=1,
    description="The question or search text; not empty, at most RAG_MAX_QUERY_CHARS characters (default 2000).",
)
_K = Field(None, description="Passages to retrieve, 1..RAG_MAX_K (default 50); unset = RAG_DEFAULT_K (5).")
_FILTERS = Field(
    None,
    description='Source filters: {"collection": "demo" | [...], "uri_prefix": "file:///docs/" | [...], '
    '"synthetic": false, "metadata": {"lang": "en" | [...]}}.',
    examples=[{"uri_prefix": "file:///docs/", "metadata": {"lang": "en"}}],
)
_COLLECTION = Field(None, description="Only this collection; unset = every collection the key may read.")


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchRequest(_Request):
    query: str = _QUERY
    k: int | None = _K
    mode: Literal["bm25", "dense", "hybrid"] = Field("hybrid", description="Keyword, vector, or both fused.")
    filters: dict[str, Any] | None = _FILTERS
    collection: str | None = _COLLECTION


class FeedbackRequest(_Request):
    log_id: int = Field(description="The log_id of a /generate response.")
    score: int = Field(ge=1, le=5, description="1 (useless) .. 5 (exactly right).")
    comment: str | None = Field(None, max_length=4000, description="Free text, optional.")


class FeedbackResponse(BaseModel):
    id: int
    log_id: int
    score: int


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"
    database: Literal["ok"] = "ok"
    schema_version: int = Field(description="The highest applied migration.")


class Scores(BaseModel):
    bm25: float | None = Field(None, description="Raw BM25 score, when the keyword side returned the chunk.")
    dense: float | None = Field(None, description="Cosine similarity, when the query was embedded.")


class SearchResult(BaseModel):
    chunk_id: int
    source: str = Field(description="The source document's URI.")
    collection: str
    text: str
    span: tuple[int, int] = Field(description="Character offsets [start, end) of the chunk in its source text.")
    metadata: dict[str, Any]
    score: float = Field(description="The mode's score: BM25, cosine, or fused in [0, 1].")
    scores: Scores
    pages: list[int] = Field(
        default_factory=list, description="PDF page numbers (from 1) the chunk spans; show the first. Empty without pages."
    )


class SearchResponse(BaseModel):
    results: list[SearchResult]


class LogPassage(BaseModel):
    rank: int
    chunk_id: int
    score: float
    bm25_score: float | None
    dense_score: float | None


class LogFeedback(BaseModel):
    id: int
    score: int
    comment: str | None
    key_id: int | None
    created_at: datetime


class LogRecord(BaseModel):
    """One generate request as logged: inputs, prompt, answer, passages, versions, feedback."""

    id: int
    created_at: datetime
    key_id: int | None
    session_id: str
    parent_log_id: int | None = Field(description="The previous turn of the session.")
    query: str = Field(description="As received (PII redacted unless RAG_REDACT_PII is off).")
    rewritten_query: str = Field(description="The standalone query retrieval used.")
    request: dict[str, Any]
    template_id: str
    template_version: int
    prompt: str | None = Field(description="The full prompt; null when refused before the model ran.")
    answer: str
    citations: list[Any]
    invalid_citations: list[Any]
    refused: bool
    no_valid_citation: bool
    status: Literal["complete", "incomplete", "failed"]
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    retrieve_ms: float
    generate_ms: float
    total_ms: float
    model_id: int | None
    model_sha256: str | None
    index_build_id: int | None
    dataset_version_id: int | None
    passages: list[LogPassage]
    feedback: list[LogFeedback]


class GenerateRequest(_Request):
    query: str = _QUERY
    k: int | None = _K
    filters: dict[str, Any] | None = _FILTERS
    collection: str | None = _COLLECTION
    session_id: str | None = Field(None, description="Continue this session (a follow-up is rewritten using the previous turn).")
    stream: bool = Field(False, description="Stream tokens as server-sent events (token events, then one done event).")
    max_new_tokens: int | None = Field(None, ge=1, le=1024, description="Cap on answer tokens; unset = RAG_MAX_NEW_TOKENS.")


class Citation(BaseModel):
    n: int = Field(description="The marker number [n] in the answer.")
    chunk_id: int
    source: str
    span: tuple[int, int]
    pages: list[int] = Field(
        default_factory=list, description="PDF page numbers (from 1) the chunk spans; show the first. Empty without pages."
    )


class Passage(BaseModel):
    n: int
    chunk_id: int
    source: str
    text: str
    score: float


class ModelInfo(BaseModel):
    id: int
    name: str
    kind: str
    sha256: str


class Timings(BaseModel):
    retrieve_ms: float
    generate_ms: float
    total_ms: float


class Tokens(BaseModel):
    prompt: int
    completion: int


class Signals(BaseModel):
    relevance: float = Field(description="The relevance gate's signal: best cosine of a 30-word window of the passages.")
    refusal_score: float | None = Field(description="The model's mean log-probability of the refusal; null when the gate refused.")
    refused_by: str | None = Field(description='"gate" (before the model), "model", or null when answered.')


class GenerateResponse(BaseModel):
    answer: str = Field(description="The answer with its [n] markers, or the refusal sentence.")
    refused: bool = Field(description="True when the passages did not hold the answer.")
    citations: list[Citation]
    passages: list[Passage]
    log_id: int = Field(description="Read it back with GET /logs/{log_id}; rate it with POST /feedback.")
    session_id: str
    model: ModelInfo
    timings: Timings
    tokens: Tokens
    signals: Signals = Field(description="What decided whether to refuse (the answer policy's signals).")


class TokenEvent(BaseModel):
    """``event: token`` in a stream: the next piece of the answer."""

    text: str

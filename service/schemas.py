"""Request and response models of every route, so the OpenAPI schema documents each field.

Every string a request carries (filter keys and values included) is a ``StoredText``: Postgres
cannot store NUL or a lone surrogate, so those get a 422 naming the field here, at the edge.
Limits that come from settings (query length, k maximum, filter list length) are checked in
``service.limits``; ``service.app`` writes the k maximum into the OpenAPI schema."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

BIGINT_MAX = 2**63 - 1


def storable_text(value: str) -> str:
    """``value`` unchanged; ValueError when Postgres text cannot hold it (NUL, lone surrogates)."""
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored; remove it")
    if any("\ud800" <= ch <= "\udfff" for ch in value):
        raise ValueError("contains a lone UTF-16 surrogate (\\ud800-\\udfff), which cannot be stored; remove it")
    return value


def storable_tree(value: Any, path: str = "") -> Any:
    """``value`` unchanged; ValueError naming the key path of the first string (key or value)
    that ``storable_text`` rejects, anywhere inside nested objects and lists."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        key_text = str(key).encode("utf-8", "backslashreplace").decode()  # the message must be sendable
        where = f"{path}.{key_text}" if path else key_text
        try:
            if isinstance(key, str):
                storable_text(key)
            if isinstance(item, str):
                storable_text(item)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        storable_tree(item, where)
    return value


StoredText = Annotated[str, AfterValidator(storable_text)]
FilterTree = Annotated[dict[str, Any], AfterValidator(storable_tree)]
RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]

_QUERY = Field(
    min_length=1,
    max_length=100_000,
    description="The question or search text; not empty, at most RAG_MAX_QUERY_CHARS characters (default 2000).",
)
_K = Field(None, ge=1, description="Passages to retrieve, 1..RAG_MAX_K (default 50); unset = RAG_DEFAULT_K (5).")
_FILTERS = Field(
    None,
    description='Source filters: {"collection": "demo" | [...], "uri_prefix": "file:///docs/" | [...], '
    '"synthetic": false, "metadata": {"lang": "en" | [...]}}.',
    examples=[{"uri_prefix": "file:///docs/", "metadata": {"lang": "en"}}],
)
_COLLECTION = Field(
    None, max_length=200, description="Only this collection; unset = every collection the key may read."
)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchRequest(_Request):
    query: StoredText = _QUERY
    k: int | None = _K
    mode: Literal["bm25", "dense", "hybrid"] = Field("hybrid", description="Keyword, vector, or both fused.")
    filters: FilterTree | None = _FILTERS
    collection: StoredText | None = _COLLECTION


class FeedbackRequest(_Request):
    log_id: RowId = Field(description="The log_id of a /generate response.")
    score: int = Field(ge=1, le=5, description="1 (useless) .. 5 (exactly right).")
    comment: StoredText | None = Field(None, max_length=4000, description="Free text, optional.")


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
        default_factory=list,
        description="PDF page numbers (from 1) the chunk spans; show the first. Empty without pages.",
    )


class SearchResponse(BaseModel):
    results: list[SearchResult]


class LogPassage(BaseModel):
    rank: int
    chunk_id: int
    score: float
    bm25_score: float | None
    dense_score: float | None
    chunk_deleted: bool = Field(description="The chunk was deleted since (rag delete, a prune or a changed source).")


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
    query: StoredText = _QUERY
    k: int | None = _K
    filters: FilterTree | None = _FILTERS
    collection: StoredText | None = _COLLECTION
    session_id: StoredText | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="Continue this session of your key (a follow-up is rewritten using the previous turn); "
        "another key's session is a 404.",
    )
    stream: StrictBool = Field(
        False, description="Stream tokens as server-sent events (token events, then one done event)."
    )
    max_new_tokens: int | None = Field(
        None, ge=1, le=1024, description="Cap on answer tokens; unset = RAG_MAX_NEW_TOKENS."
    )


class Citation(BaseModel):
    n: int = Field(description="The marker number [n] in the answer.")
    chunk_id: int
    source: str
    span: tuple[int, int]
    pages: list[int] = Field(
        default_factory=list,
        description="PDF page numbers (from 1) the chunk spans; show the first. Empty without pages.",
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
    relevance: float = Field(
        description="The relevance gate's signal: best cosine of a 30-word window of the passages."
    )
    refusal_score: float | None = Field(
        description="The model's mean log-probability of the refusal; null when the gate refused."
    )
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


class DeleteRequest(_Request):
    collection: StoredText = Field(min_length=1, max_length=200, description="The collection to delete from.")
    sources: list[StoredText] = Field(
        default_factory=list,
        max_length=1000,
        description="Uri prefixes (file:///data/old/); a source whose uri starts with one is deleted. "
        "Empty = every source of the collection.",
    )


class DeleteResponse(BaseModel):
    collection: str
    sources: int = Field(description="Sources deleted.")
    chunks: int = Field(description="Chunks deleted (a duplicate's copy that took a deleted chunk's place stays).")
    index_build_id: int | None = Field(description="The FAISS build written, or null when nothing changed.")

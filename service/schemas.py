"""Request and response models of every route, so the OpenAPI schema documents each field.

Limits that come from settings (query length, k range) are checked in ``service.limits``
and documented here in the field descriptions."""

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


class SearchResponse(BaseModel):
    results: list[SearchResult]

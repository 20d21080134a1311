"""The one settings object. Built from the environment (prefix ``RAG_``) at the edge
(CLI entry, FastAPI lifespan, a test fixture) and passed down explicitly."""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    # Storage
    data_dir: Path = Field(Path(".rag"), description="Embedded database, indexes and model caches live here.")
    database_url: str | None = Field(None, description="External Postgres (with pgvector); unset = embedded server.")
    database_replica_url: str | None = Field(
        None, description="A streaming read replica of that database: searches read there; unset = the primary."
    )

    # Ingest
    chunk_tokens: int = Field(256, ge=16, le=512, description="Chunk size in embedder tokens.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by consecutive chunks.")
    embed_batch_size: int = Field(64, ge=1, description="Most texts per embedder forward pass.")
    embed_batch_tokens: int = Field(
        4096, ge=256, description="Most tokens (padded) per embedder forward pass: bounds its memory for long chunks."
    )
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1, description="MinHash Jaccard for near duplicates.")
    max_source_bytes: int = Field(
        50_000_000, ge=1, description="Largest file ingested, in bytes; a larger one fails by name."
    )

    pool_size: int = Field(
        8, ge=1, description="Connections in a process's database pool (one per process), and hybrid search threads."
    )

    # Retrieval
    vector_backend: Literal["faiss", "pgvector"] = Field("faiss", description="Dense retriever backend.")
    hnsw_ef_search: int = Field(40, ge=1, description="HNSW ef_search of both vector backends (FAISS and pgvector).")
    bm25_k1: float = Field(1.5, ge=0, description="BM25 term-frequency saturation.")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 document-length normalisation.")
    fusion: Literal["rrf", "convex"] = Field("rrf", description="How hybrid search fuses the two sides.")
    rrf_k: int = Field(60, ge=0, description="Reciprocal rank fusion constant.")
    fusion_alpha: float = Field(0.5, ge=0, le=1, description="Dense weight in the convex combination.")
    overfetch: int = Field(4, ge=1, description="Each hybrid side fetches overfetch x k before fusing.")
    index_refresh_seconds: float = Field(2.0, ge=0, description="How often a searcher checks for a newer index build.")
    query_cache_size: int = Field(
        1024, ge=0, description="Query vectors a searcher keeps (LRU, by whitespace-normalised text); 0 disables."
    )
    model_refresh_seconds: float = Field(
        5.0, ge=0, description="How often the service checks the registry for a newly promoted model (0: never)."
    )

    # Generation
    torch_threads: int | None = Field(None, ge=1, description="torch intra-op threads; unset = all cores.")
    shipped_model: bool = Field(
        True,
        description="Serve the fine-tuned adapter shipped in models/shipped/ when no model is promoted "
        "(registered and promoted on first use); false serves the base model instead.",
    )
    generator_dtype: Literal["float32", "bfloat16"] = Field(
        "float32",
        description="Generator weights dtype; float32 decodes through the fused step (models/decoding.py), "
        "bfloat16 through the transformers forward (slower to decode on the CPUs measured).",
    )
    max_new_tokens: int = Field(64, ge=1, le=1024, description="Default cap on generated tokens per answer.")
    refusal_threshold: float = Field(
        0.45,
        description="Relevance gate: refuse without calling the model when no 30-word window of the passages "
        "has a cosine of at least this with the question.",
    )
    focus_words: int | None = Field(
        80,
        ge=10,
        description="The model reads each passage cut to this many words around the window most similar to the "
        "question (the passage size it was trained on).",
    )
    decoding: Literal["copy", "free"] = Field(
        "copy",
        description="copy: an answer is a span copied from one passage, cited by construction "
        "(models/copy_constraint.py); free: any tokens, with RAG_FORCE_CITATIONS.",
    )
    force_citations: bool = Field(
        True,
        description="Free decoding: make an answer that is not the refusal end with a valid [n] marker "
        "(models/cite_constraint.py).",
    )
    redact_pii: bool = Field(
        True,
        description="Redact emails, phones, card numbers and IPs in what the log stores: queries, prompts, "
        "answers, session ids, filter values.",
    )

    # Remote engines (any OpenAI-compatible server: vLLM, llama.cpp, Ollama, another `rag serve`)
    generator_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible server (ending in /v1) that generates the answers "
        "instead of the in-process model (models/remote_generator.py); the log names it as a 'remote' model.",
    )
    generator_model: str | None = Field(None, description="The model name the generator server is asked for.")
    generator_api_key: str | None = Field(None, description="Bearer key of the generator server, if it needs one.")
    embedder_url: str | None = Field(
        None,
        description="Base URL of an OpenAI-compatible /v1/embeddings server that embeds instead of the in-process "
        "MiniLM (models/remote_embedder.py); it must serve all-MiniLM-L6-v2's 384-d vectors for existing indexes.",
    )
    embedder_model: str | None = Field(None, description="The model name the embeddings server is asked for.")
    embedder_api_key: str | None = Field(None, description="Bearer key of the embeddings server, if it needs one.")

    # Service
    service_host: str = Field("127.0.0.1", description="Interface `rag serve` binds to by default.")
    service_port: int = Field(8000, ge=1, le=65535, description="Port `rag serve` listens on by default.")
    rate_limit_per_minute: int = Field(60, ge=1, description="Requests per API key per minute before 429.")
    max_query_chars: int = Field(2000, ge=1, description="Longest query the service accepts, in characters.")
    default_k: int = Field(5, ge=1, description="Passages retrieved when a request gives no k.")
    max_k: int = Field(50, ge=1, description="Largest k a request may ask for.")
    max_filter_values: int = Field(100, ge=1, description="Most values one filter list may hold in a request.")
    max_body_bytes: int = Field(
        1_000_000, ge=1024, description="Largest request body the service reads, in bytes (413 beyond)."
    )
    max_concurrent_answers: int = Field(
        8,
        ge=1,
        description="Answers one service process generates at once; their decode steps run as one batch "
        "(models/decoding.py), later requests wait for a slot.",
    )

    @property
    def faiss_dir(self) -> Path:
        return self.data_dir / "faiss"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

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

    # Ingest
    chunk_tokens: int = Field(256, ge=16, le=512, description="Chunk size in embedder tokens.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens shared by consecutive chunks.")
    embed_batch_size: int = Field(64, ge=1, description="Texts per embedder forward pass.")
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1, description="MinHash Jaccard for near duplicates.")

    # Retrieval
    vector_backend: Literal["faiss", "pgvector"] = Field("faiss", description="Dense retriever backend.")
    hnsw_ef_search: int = Field(100, ge=1, description="pgvector HNSW ef_search.")

    # Generation
    torch_threads: int | None = Field(None, ge=1, description="torch intra-op threads; unset = all cores.")

    # Service
    service_host: str = Field("127.0.0.1", description="Interface `rag serve` binds to by default.")
    service_port: int = Field(8000, ge=1, le=65535, description="Port `rag serve` listens on by default.")
    rate_limit_per_minute: int = Field(60, ge=1, description="Requests per API key per minute before 429.")
    max_query_chars: int = Field(2000, ge=1, description="Longest query the service accepts, in characters.")
    default_k: int = Field(5, ge=1, description="Passages retrieved when a request gives no k.")
    max_k: int = Field(50, ge=1, description="Largest k a request may ask for.")

    # Fine-tuning

    @property
    def faiss_dir(self) -> Path:
        return self.data_dir / "faiss"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

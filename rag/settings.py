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

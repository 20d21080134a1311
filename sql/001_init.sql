-- Ingest: collections of sources, their chunks (text, span, vector, tsvector),
-- duplicate provenance, ingest runs and vector index builds.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE collections (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ingest_runs (
    id                  bigserial PRIMARY KEY,
    collection_id       bigint NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    started_at          timestamptz NOT NULL DEFAULT now(),
    finished_at         timestamptz,
    parameters          jsonb NOT NULL DEFAULT '{}',
    counts              jsonb NOT NULL DEFAULT '{}',
    status              text NOT NULL DEFAULT 'running'
                        CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    dataset_version_id  bigint
);

CREATE TABLE sources (
    id                  bigserial PRIMARY KEY,
    collection_id       bigint NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    uri                 text NOT NULL,
    sha256              text NOT NULL,
    size_bytes          bigint NOT NULL,
    mime_type           text NOT NULL,
    metadata            jsonb NOT NULL DEFAULT '{}',
    synthetic           boolean NOT NULL DEFAULT false,
    ingested_at         timestamptz NOT NULL DEFAULT now(),
    ingest_run_id       bigint REFERENCES ingest_runs(id) ON DELETE SET NULL,
    dataset_version_id  bigint,
    UNIQUE (collection_id, uri)
);
CREATE INDEX sources_uri_prefix ON sources (collection_id, uri text_pattern_ops);
CREATE INDEX sources_metadata ON sources USING gin (metadata jsonb_path_ops);

-- A chunk whose embedding is NULL is a recorded duplicate: stored for provenance,
-- neither embedded nor indexed. Searchable chunks are those with an embedding.
CREATE TABLE chunks (
    id            bigserial PRIMARY KEY,
    source_id     bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    ordinal       integer NOT NULL,
    char_start    integer NOT NULL,
    char_end      integer NOT NULL,
    text          text NOT NULL,
    token_count   integer NOT NULL,
    content_hash  text NOT NULL,
    embedding     vector(384),
    tsv           tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    UNIQUE (source_id, ordinal),
    CHECK (0 <= char_start AND char_start <= char_end)
);
CREATE INDEX chunks_embedding_hnsw ON chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_content_hash ON chunks (content_hash);

CREATE TABLE duplicates (
    id                  bigserial PRIMARY KEY,
    kind                text NOT NULL CHECK (kind IN ('exact', 'near')),
    chunk_id            bigint NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    original_chunk_id   bigint NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    similarity          real NOT NULL,
    ingest_run_id       bigint REFERENCES ingest_runs(id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (chunk_id)
);
CREATE INDEX duplicates_original ON duplicates (original_chunk_id);

CREATE TABLE index_builds (
    id            bigserial PRIMARY KEY,
    kind          text NOT NULL CHECK (kind IN ('faiss', 'bm25')),
    index_id      text NOT NULL,
    vector_count  bigint NOT NULL,
    checksum      text NOT NULL,
    path          text NOT NULL,
    ingest_run_id bigint REFERENCES ingest_runs(id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

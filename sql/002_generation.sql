-- Generation: prompt templates, the model registry, and one log row per generate request
-- with its retrieved passages (written together in one transaction).

CREATE TABLE prompt_templates (
    id          text NOT NULL,
    version     integer NOT NULL,
    text        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, version)
);

CREATE TABLE models (
    id                  bigserial PRIMARY KEY,
    name                text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('base', 'adapter', 'full')),
    path                text NOT NULL,
    sha256              text NOT NULL,
    parent_id           bigint REFERENCES models(id) ON DELETE RESTRICT,
    status              text NOT NULL DEFAULT 'candidate'
                        CHECK (status IN ('candidate', 'promoted', 'retired')),
    metrics             jsonb NOT NULL DEFAULT '{}',
    config              jsonb NOT NULL DEFAULT '{}',
    dataset_version_id  bigint,
    created_at          timestamptz NOT NULL DEFAULT now()
);
-- At most one model is served at a time.
CREATE UNIQUE INDEX models_one_promoted ON models (status) WHERE status = 'promoted';
CREATE INDEX models_sha256 ON models (sha256);

-- Every status change, with why (a forced promotion says so here).
CREATE TABLE model_events (
    id           bigserial PRIMARY KEY,
    model_id     bigint NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    from_status  text NOT NULL,
    to_status    text NOT NULL,
    note         text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE generation_logs (
    id                  bigserial PRIMARY KEY,
    created_at          timestamptz NOT NULL DEFAULT now(),
    key_id              bigint,  -- api_keys arrives with the service migration, which adds the FK
    session_id          text NOT NULL,
    parent_log_id       bigint REFERENCES generation_logs(id) ON DELETE SET NULL,
    query               text NOT NULL,
    rewritten_query     text NOT NULL,
    request             jsonb NOT NULL DEFAULT '{}',
    template_id         text NOT NULL,
    template_version    integer NOT NULL,
    prompt              text,  -- NULL when refused before the model was called
    answer              text NOT NULL,
    citations           jsonb NOT NULL DEFAULT '[]',
    invalid_citations   jsonb NOT NULL DEFAULT '[]',
    refused             boolean NOT NULL,
    no_valid_citation   boolean NOT NULL,
    status              text NOT NULL CHECK (status IN ('complete', 'incomplete', 'failed')),
    error               text,
    prompt_tokens       integer NOT NULL DEFAULT 0,
    completion_tokens   integer NOT NULL DEFAULT 0,
    retrieve_ms         real NOT NULL,
    generate_ms         real NOT NULL,
    total_ms            real NOT NULL,
    model_id            bigint REFERENCES models(id) ON DELETE RESTRICT,
    model_sha256        text,
    index_build_id      bigint REFERENCES index_builds(id) ON DELETE SET NULL,
    dataset_version_id  bigint,
    FOREIGN KEY (template_id, template_version) REFERENCES prompt_templates (id, version)
);
CREATE INDEX generation_logs_session ON generation_logs (session_id, id);
CREATE INDEX generation_logs_created ON generation_logs (created_at);

-- The passages a generation saw, by rank; chunk_id survives re-ingest as a plain number.
CREATE TABLE generation_passages (
    log_id       bigint NOT NULL REFERENCES generation_logs(id) ON DELETE CASCADE,
    rank         integer NOT NULL CHECK (rank >= 1),
    chunk_id     bigint NOT NULL,
    score        real NOT NULL,
    bm25_score   real,
    dense_score  real,
    PRIMARY KEY (log_id, rank)
);
CREATE INDEX generation_passages_chunk ON generation_passages (chunk_id);

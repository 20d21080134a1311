-- Service: API keys (only the SHA-256 of each secret is stored) and feedback on generations.

CREATE TABLE api_keys (
    id           bigserial PRIMARY KEY,
    name         text,
    role         text NOT NULL CHECK (role IN ('reader', 'user', 'admin')),
    key_hash     text NOT NULL UNIQUE,
    collections  text[],  -- NULL: every collection
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

ALTER TABLE generation_logs
    ADD CONSTRAINT generation_logs_key_id_fkey FOREIGN KEY (key_id) REFERENCES api_keys(id) ON DELETE SET NULL;
CREATE INDEX generation_logs_key ON generation_logs (key_id);

CREATE TABLE feedback (
    id          bigserial PRIMARY KEY,
    log_id      bigint NOT NULL REFERENCES generation_logs(id) ON DELETE CASCADE,
    score       smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment     text,
    key_id      bigint REFERENCES api_keys(id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX feedback_log ON feedback (log_id);

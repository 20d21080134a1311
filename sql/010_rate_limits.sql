-- The per-key rate limit as one token bucket row per key, shared by every process over this
-- database (service/ratelimit.py takes a token in one INSERT ... ON CONFLICT DO UPDATE).
-- tokens: what was left at updated_at; wait_seconds: the last request's answer (0 = allowed).
CREATE TABLE rate_limit_buckets (
    key_id        bigint PRIMARY KEY REFERENCES api_keys(id) ON DELETE CASCADE,
    tokens        double precision NOT NULL,
    updated_at    timestamptz NOT NULL,
    wait_seconds  double precision NOT NULL DEFAULT 0
);

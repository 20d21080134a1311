-- The answer policy (models/policy.py): stored with each model (calibrated by `rag finetune`),
-- and written into every generation log row with the signals that decided the refusal, so
-- `rag replay` answers under the policy a row was served with.
ALTER TABLE models ADD COLUMN policy jsonb NOT NULL DEFAULT '{}';
ALTER TABLE generation_logs ADD COLUMN policy jsonb NOT NULL DEFAULT '{}';
ALTER TABLE generation_logs ADD COLUMN signals jsonb NOT NULL DEFAULT '{}';

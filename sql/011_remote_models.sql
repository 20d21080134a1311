-- A model served by an OpenAI-compatible server (RAG_GENERATOR_URL): kind 'remote', its name
-- the server's model name, its path the base URL, its sha256 a hash of URL and model name
-- (models/remote_generator.py), so each log row names the remote model that answered.
ALTER TABLE models DROP CONSTRAINT models_kind_check;
ALTER TABLE models ADD CONSTRAINT models_kind_check CHECK (kind IN ('base', 'adapter', 'full', 'remote'));

-- Dataset versions: one row per version of a named dataset (a file or folder that DVC tracks),
-- identified by DVC's own content hash, with the git commit and the parameters that made it
-- and its record counts (synthetic records counted apart). Ingest runs, sources, models and
-- generation logs point at the version they came from (their nullable columns, from 001/002);
-- a version something points at cannot be deleted.
CREATE TABLE dataset_versions (
    id                 bigserial PRIMARY KEY,
    name               text NOT NULL,
    path               text NOT NULL,
    md5                text NOT NULL,  -- as in dvc.lock: a file's md5, or '<md5>.dir' for a folder
    git_commit         text,           -- HEAD when recorded; NULL outside a git repository
    params_hash        text NOT NULL DEFAULT '',
    params             jsonb NOT NULL DEFAULT '{}',
    files              integer NOT NULL,
    records            bigint NOT NULL,
    synthetic_records  bigint NOT NULL,
    synthetic          boolean GENERATED ALWAYS AS (synthetic_records > 0) STORED,
    counts             jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, md5, params_hash),
    CHECK (0 <= synthetic_records AND synthetic_records <= records)
);

ALTER TABLE ingest_runs ADD CONSTRAINT ingest_runs_dataset_version_id_fkey
    FOREIGN KEY (dataset_version_id) REFERENCES dataset_versions(id);
ALTER TABLE sources ADD CONSTRAINT sources_dataset_version_id_fkey
    FOREIGN KEY (dataset_version_id) REFERENCES dataset_versions(id);
ALTER TABLE models ADD CONSTRAINT models_dataset_version_id_fkey
    FOREIGN KEY (dataset_version_id) REFERENCES dataset_versions(id);
ALTER TABLE generation_logs ADD CONSTRAINT generation_logs_dataset_version_id_fkey
    FOREIGN KEY (dataset_version_id) REFERENCES dataset_versions(id);
CREATE INDEX sources_dataset_version ON sources (dataset_version_id);
CREATE INDEX generation_logs_dataset_version ON generation_logs (dataset_version_id);

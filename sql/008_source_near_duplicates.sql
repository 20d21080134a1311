-- Source-level near duplicates: the MinHash LSH bands of each source's whole cleaned text,
-- and which source a near-duplicate source copies. A chunk of such a source whose shingles
-- lie in the original source is a 'source' duplicate (even when chunk boundaries moved).
CREATE TABLE source_bands (
    source_id  bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    band       smallint NOT NULL,
    hash       bigint NOT NULL,
    PRIMARY KEY (band, hash, source_id)
);
CREATE INDEX source_bands_source ON source_bands (source_id);

CREATE TABLE source_duplicates (
    source_id           bigint PRIMARY KEY REFERENCES sources(id) ON DELETE CASCADE,
    original_source_id  bigint NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    similarity          real NOT NULL,
    ingest_run_id       bigint REFERENCES ingest_runs(id) ON DELETE SET NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX source_duplicates_original ON source_duplicates (original_source_id);

ALTER TABLE duplicates DROP CONSTRAINT duplicates_kind_check;
ALTER TABLE duplicates ADD CONSTRAINT duplicates_kind_check CHECK (kind IN ('exact', 'near', 'source'));

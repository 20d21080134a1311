-- Ingest: the MinHash LSH bands of every chunk, so near duplicates are looked up in SQL
-- against what a collection already holds, without loading the collection into memory.
CREATE TABLE chunk_bands (
    chunk_id  bigint NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
    band      smallint NOT NULL,
    hash      bigint NOT NULL,
    PRIMARY KEY (band, hash, chunk_id)
);
CREATE INDEX chunk_bands_chunk ON chunk_bands (chunk_id);

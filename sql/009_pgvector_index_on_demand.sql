-- The pgvector HNSW index on chunks.embedding is kept only where pgvector serves searches
-- (RAG_VECTOR_BACKEND=pgvector). With FAISS serving (the default) nothing reads it, and
-- maintaining it on every insert cost ingest about a tenth of its wall time. It is built in
-- bulk by rag/pgvector_index.py when a pgvector searcher opens or a pgvector ingest ends, and
-- Postgres maintains it from then on.
DROP INDEX IF EXISTS chunks_embedding_hnsw;

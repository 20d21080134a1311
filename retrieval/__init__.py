"""Hybrid retrieval: BM25 and dense (FAISS or pgvector) retrievers behind one Protocol,
fused by pure functions, filtered inside each retriever, served by ``HybridSearcher``."""

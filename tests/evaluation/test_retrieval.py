import pytest

from evaluation.retrieval import document_id, metric_names, parse_modes, rank_documents, search_depth
from rag.errors import InputError


def test_document_id_is_the_uri_fragment():
    assert document_id("file:///data/corpus.jsonl#184") == "184"
    assert document_id("file:///a#b/c.jsonl#x#7") == "7"


def test_documents_rank_by_their_best_chunk_with_duplicates_right_after_the_original():
    chunks = [(11, "d2"), (12, "d1"), (13, "d2"), (14, "d3")]
    ranked = rank_documents(chunks, {12: ["d9", "d2"]})
    assert list(ranked) == ["d2", "d1", "d9", "d3"]
    assert list(ranked.values()) == [0.0, -1.0, -2.0, -3.0]


def test_modes_metrics_and_depth():
    assert parse_modes("all") == ["bm25", "dense", "hybrid"]
    assert parse_modes("dense") == ["dense"]
    with pytest.raises(InputError, match="'both'.*hybrid, bm25, dense, all"):
        parse_modes("both")
    assert metric_names(10) == ["ndcg@10", "recall@100", "mrr@10"]
    assert search_depth(10) == 200

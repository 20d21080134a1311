from pathlib import Path

import pytest

from core.errors import InputError
from evaluation.beir import BeirDataset
from evaluation.retrieval import (
    document_id,
    document_run,
    metric_names,
    parse_modes,
    rank_documents,
    search_depth,
    source_filters,
)
from retrieval.base import SearchHit
from retrieval.filters import collection_filter, synthetic_filter
from tests.stand_ins import FixedSearcher


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


def test_synthetic_exclude_filters_every_query_to_sources_not_marked_synthetic():
    assert source_filters("include") == [] and source_filters("exclude") == [synthetic_filter(False)]
    with pytest.raises(InputError, match="--synthetic 'no'"):
        source_filters("no")
    dataset = BeirDataset(Path("tiny"), Path("tiny/corpus.jsonl"), {"1": "a", "2": "b"}, {"1": {"d1": 1}})
    hit = SearchHit(1, "file:///c.jsonl#d1", "beir-tiny", "text", (0, 4), {}, 1.0)
    searcher = FixedSearcher([hit])
    run = document_run(searcher, dataset, "bm25", 10, {}, show_progress=False, filters=source_filters("exclude"))
    assert run == {"1": {"d1": 0.0}, "2": {"d1": 0.0}}
    assert [c["filters"] for c in searcher.calls] == [[collection_filter(["beir-tiny"]), synthetic_filter(False)]] * 2

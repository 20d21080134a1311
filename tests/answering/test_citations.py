from answering.citations import check_citations
from models.prompt import REFUSAL
from retrieval.searcher import SearchHit

PASSAGES = [SearchHit(n, f"file:///{n}", "demo", "text", (n, n + 4), {}, 0.5, {}) for n in (21, 22)]


def test_valid_citations_name_their_chunks_in_order_of_use():
    checked = check_citations("Lyon [2], Paris [1] [2]", PASSAGES)
    assert checked.citations == [
        {"n": 2, "chunk_id": 22, "source": "file:///22", "span": [22, 26]},
        {"n": 1, "chunk_id": 21, "source": "file:///21", "span": [21, 25]},
    ]
    assert checked.invalid == [] and not checked.no_valid_citation


def test_invalid_markers_are_dropped_and_a_bare_answer_is_flagged():
    checked = check_citations("Lyon [3] [0]", PASSAGES)
    assert (checked.answer, checked.invalid, checked.citations) == ("Lyon", ["[3]", "[0]"], [])
    assert checked.no_valid_citation
    assert check_citations("Lyon", PASSAGES).no_valid_citation


def test_the_refusal_needs_no_citation():
    assert not check_citations(REFUSAL, PASSAGES).no_valid_citation

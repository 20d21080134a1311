import pytest

from evaluation.qa_metrics import Judged, exact_match, f1_score, normalize_answer, score


def test_official_normalisation():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an Apple, a day") == "apple day"


def test_exact_match_and_f1():
    assert exact_match("the Eiffel Tower", "Eiffel Tower.") == 1.0
    assert f1_score("Saint Bernadette", "Saint Bernadette Soubirous") == pytest.approx(0.8)
    assert f1_score("nothing", "Saint Bernadette") == 0.0


PASSAGES = {1: "She was seen in 1858 at Lourdes.", 2: "The grotto was built in 1860."}


def _judged(answerable=True, refused=False, answer="1858", cited=(1,)):
    return Judged(answerable, refused, answer, ["1858", "in 1858"], [PASSAGES[n] for n in cited])


def test_score_counts_refusals_citations_and_answers():
    metrics = score(
        [
            _judged(),  # right answer, right citation
            _judged(answer="in 1860", cited=(2,)),  # F1 0.5 vs "in 1858", cites a passage without a gold answer
            _judged(refused=True),  # refused an answerable question: scores 0
            _judged(answerable=False, refused=True),  # right refusal
        ]
    )
    assert metrics["n"] == 4
    assert metrics["exact_match"] == pytest.approx(100 / 3, abs=0.01)
    assert metrics["f1"] == pytest.approx(100 * 1.5 / 3, abs=0.01)
    assert metrics["citation_accuracy"] == 0.5
    assert metrics["refusal_accuracy"] == 0.75


def test_score_of_nothing_answerable():
    assert score([_judged(answerable=False, refused=False)])["refusal_accuracy"] == 0.0


def test_a_citation_is_right_when_a_cited_passage_holds_a_gold_answer_as_whole_words():
    assert Judged(True, False, "x", ["1858"], ["In 1858, she..."]).cites_gold
    assert not Judged(True, False, "x", ["185"], ["In 1858, she..."]).cites_gold
    assert not Judged(True, False, "x", ["1858"], []).cites_gold

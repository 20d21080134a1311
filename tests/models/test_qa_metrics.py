import pytest

from models.qa_metrics import Judged, exact_match, f1_score, normalize_answer, score


def test_official_normalisation():
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an Apple, a day") == "apple day"


def test_exact_match_and_f1():
    assert exact_match("the Eiffel Tower", "Eiffel Tower.") == 1.0
    assert f1_score("Saint Bernadette", "Saint Bernadette Soubirous") == pytest.approx(0.8)
    assert f1_score("nothing", "Saint Bernadette") == 0.0


def _judged(answerable=True, refused=False, answer="1858", cited=(1,), gold=1):
    return Judged(answerable, refused, answer, ["1858", "in 1858"], list(cited), gold if answerable else None)


def test_score_counts_refusals_citations_and_answers():
    metrics = score([
        _judged(),                                  # right answer, right citation
        _judged(answer="in 1860", cited=(2,)),      # F1 0.5 vs "in 1858", wrong citation
        _judged(refused=True),                      # refused an answerable question: scores 0
        _judged(answerable=False, refused=True),    # right refusal
    ])
    assert metrics["n"] == 4
    assert metrics["exact_match"] == pytest.approx(100 / 3, abs=0.01)
    assert metrics["f1"] == pytest.approx(100 * 1.5 / 3, abs=0.01)
    assert metrics["citation_accuracy"] == 0.5
    assert metrics["refusal_accuracy"] == 0.75


def test_score_of_nothing_answerable():
    assert score([_judged(answerable=False, refused=False)])["refusal_accuracy"] == 0.0

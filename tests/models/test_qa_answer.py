import pytest

from models.qa_answer import calibrate_refusal, snap_to_span


def test_snap_keeps_a_copied_answer():
    assert snap_to_span("the grotto", ["Behind it is the Grotto, a Marian place."]) == "the grotto"


def test_snap_copies_the_closest_span():
    passages = ["Nothing here.", "It appeared to Saint Bernadette Soubirous in 1858."]
    assert snap_to_span("Bernadette Soubiros", passages) == "Bernadette"
    assert snap_to_span("Saint Bernadette Soubiros", passages) == "Saint Bernadette"


def test_calibrated_threshold_separates_the_scores():
    scores = [-3.0, -2.5, -0.4, -0.2, -2.9]
    should = [False, False, True, True, False]
    threshold = calibrate_refusal(scores, should)
    assert [s >= threshold for s in scores] == should
    assert -2.5 < threshold < -0.4


def test_questions_the_gate_refuses_do_not_move_the_calibrated_threshold():
    scores = [-3.0, -2.5, -0.4, -0.2, -2.9, -2.7]
    should = [False, False, True, True, False, True]
    gated = [False, False, False, False, False, True]  # refused before the model: its low score is not the model's call
    threshold = calibrate_refusal(scores, should, gated)
    assert -2.5 < threshold < -0.4


def test_the_relevance_gate_refuses_before_the_model():
    from models.qa_answer import QAPrediction

    answering = QAPrediction("Paris [1]", "Paris", "Paris", [1], [1], False, refusal_score=-3.0, relevance=0.2)
    assert answering.refused(None, gate=0.35) and answering.refused(-1.0, gate=0.35)
    assert not answering.refused(None, gate=0.1) and not answering.refused(-1.0)
    unembedded = QAPrediction("Paris [1]", "Paris", "Paris", [1], [1], False, refusal_score=-3.0)
    assert not unembedded.gated(0.35)


def test_dense_relevance_is_the_best_cosine_over_the_passages():
    import numpy as np

    from models.qa_answer import dense_relevance

    class Axes:
        def embed(self, texts):
            rows = {"q": [1.0, 0.0], "near": [0.8, 0.6], "far": [0.0, 1.0]}
            return np.array([rows[t] for t in texts], dtype=np.float32)

    assert dense_relevance(Axes())("q", ["far", "near"]) == pytest.approx(0.8)
    assert dense_relevance(Axes())("q", []) == -1.0


def test_an_answer_found_in_one_uncited_passage_cites_it():
    from models.qa_answer import cite_source

    passages = ["Lyon is a city.", "Paris is the capital of France.", "Paris, Texas is a film."]
    assert cite_source("the capital of France", passages, [1]) == [2]
    assert cite_source("the capital of France", passages, [2]) == [2]
    assert cite_source("Paris", passages, [1]) == [1]  # in two passages: the model's choice stands
    assert cite_source("Marseille", passages, [1]) == [1]
    assert cite_source("is a", passages[:1], [2]) == [1]
    assert cite_source("cit", passages, [3]) == [3]  # whole words only

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

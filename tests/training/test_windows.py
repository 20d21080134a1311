import random

from training.windows import answer_window, word_windows

TEXT = " ".join(f"w{i}" for i in range(100))


def test_word_windows_cover_the_text():
    windows = word_windows(TEXT, 30)
    assert [len(w.split()) for w in windows] == [30, 30, 30, 10]
    assert " ".join(windows) == TEXT


def test_answer_window_keeps_the_answer_at_varied_places():
    answer = "w50 w51"
    starts = set()
    for seed in range(20):
        window = answer_window(TEXT, answer, TEXT.index(answer), 10, random.Random(seed))
        assert len(window.text.split()) == 10
        assert window.text[window.answer_start :].startswith(answer)
        starts.add(window.answer_start)
    assert len(starts) > 3


def test_long_answer_gets_a_window_covering_it():
    answer = " ".join(f"w{i}" for i in range(20, 40))
    window = answer_window(TEXT, answer, TEXT.index(answer), 5, random.Random(0))
    assert answer in window.text

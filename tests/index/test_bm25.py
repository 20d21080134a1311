import math

import numpy as np
import pytest

from index.bm25 import Bm25Index, tokenize

K1, B = 1.5, 0.75
DOCS = {10: "The cat sat on the mat.", 20: "The dog sat.", 30: "Cats and dogs!"}


def _index() -> Bm25Index:
    return Bm25Index.build(list(DOCS), list(DOCS.values()), k1=K1, b=B)


def _idf(df: int, n: int = 3) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _tf(tf: int, length: int, avg: float = 7 / 3) -> float:
    return tf / (tf + K1 * (1 - B + B * length / avg))


def test_tokenize_lowercases_drops_stopwords_and_stems():
    assert tokenize("The Cats and DOGS sat on a mat, x") == ["cat", "dog", "sat", "mat"]


def test_scores_match_hand_computation():
    # Terms: 10 -> cat sat mat (3), 20 -> dog sat (2), 30 -> cat dog (2); avgdl = 7/3.
    index = _index()
    cat = index.scores("cat")
    assert cat == pytest.approx([_idf(2) * _tf(1, 3), 0.0, _idf(2) * _tf(1, 2)], rel=1e-5)
    sat_mat = index.scores("sitting on mats")  # "sitting" stems to "sit", not in the corpus
    assert sat_mat == pytest.approx([_idf(1) * _tf(1, 3), 0.0, 0.0], rel=1e-5)
    assert index.scores("sat mat") == pytest.approx(
        [_idf(2) * _tf(1, 3) + _idf(1) * _tf(1, 3), _idf(2) * _tf(1, 2), 0], rel=1e-5
    )


def test_top_returns_only_matches_best_first_and_honours_allowed_ids():
    index = _index()
    assert [cid for cid, _ in index.top("cat", 10)] == [30, 10]
    assert [cid for cid, _ in index.top("cat", 1)] == [30]
    assert [cid for cid, _ in index.top("cat", 10, np.array([10, 20]))] == [10]
    assert index.top("cat", 10, np.array([], dtype=np.int64)) == []
    assert index.top("the of and", 10) == []


def test_save_and_load_round_trip(tmp_path):
    _index().save(tmp_path / "bm25")
    loaded = Bm25Index.load(tmp_path / "bm25")
    assert loaded.top("dog", 5) == _index().top("dog", 5)


def test_an_empty_index_finds_nothing(tmp_path):
    empty = Bm25Index.build([], [], k1=K1, b=B)
    empty.save(tmp_path / "e")
    assert Bm25Index.load(tmp_path / "e").top("cat", 3) == []

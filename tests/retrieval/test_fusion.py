import pytest

from core.errors import InputError
from retrieval.fusion import convex_combination, fuse, reciprocal_rank_fusion


def test_rrf_sums_reciprocal_ranks_and_scales_first_everywhere_to_one():
    fused = reciprocal_rank_fusion([[(1, 9.0), (2, 5.0)], [(1, 0.9), (3, 0.8)]], k=60)
    assert [cid for cid, _ in fused] == [1, 2, 3]
    assert fused[0][1] == pytest.approx(1.0)
    assert dict(fused)[2] == pytest.approx((1 / 62) * 61 / 2)


def test_rrf_item_missing_from_one_list_counts_only_where_present():
    fused = dict(reciprocal_rank_fusion([[(1, 1.0)], [(2, 1.0), (1, 0.5)]], k=0))
    assert fused[1] == pytest.approx((1 / 1 + 1 / 2) / 2)
    assert fused[2] == pytest.approx(0.5)


def test_rrf_ties_break_on_best_rank_then_chunk_id():
    # 5 and 7 swap places in the two lists: equal fused scores, equal best rank -> lower id first.
    assert [cid for cid, _ in reciprocal_rank_fusion([[(7, 2.0), (5, 1.0)], [(5, 2.0), (7, 1.0)]])] == [5, 7]


def test_rrf_with_one_list_empty_halves_the_scale():
    fused = reciprocal_rank_fusion([[], [(4, 0.3), (2, 0.2)]], k=60)
    assert fused == [(4, pytest.approx(0.5)), (2, pytest.approx(61 / 62 / 2))]


def test_rrf_of_nothing_is_empty():
    assert reciprocal_rank_fusion([[], []]) == []
    assert reciprocal_rank_fusion([]) == []


def test_convex_min_max_normalises_each_list_and_weights_them():
    fused = dict(convex_combination([[(1, 10.0), (2, 6.0), (3, 2.0)], [(3, 0.9), (4, 0.5)]], [0.25, 0.75]))
    assert fused[1] == pytest.approx(0.25 * 1.0)
    assert fused[2] == pytest.approx(0.25 * 0.5)
    assert fused[3] == pytest.approx(0.25 * 0.0 + 0.75 * 1.0)
    assert fused[4] == pytest.approx(0.0)


def test_convex_single_item_or_equal_scores_normalise_to_one():
    assert convex_combination([[(1, 3.0), (2, 3.0)], [(9, -0.2)]], [0.5, 0.5]) == [
        (1, pytest.approx(0.5)),
        (9, pytest.approx(0.5)),
        (2, pytest.approx(0.5)),
    ]


def test_convex_with_one_list_empty_keeps_the_other_weighted():
    assert convex_combination([[(1, 2.0), (2, 1.0)], []], [0.4, 0.6]) == [(1, pytest.approx(0.4)), (2, 0.0)]


def test_convex_rejects_weights_that_do_not_sum_to_one():
    with pytest.raises(InputError, match="weights"):
        convex_combination([[], []], [0.5, 0.6])


def test_fuse_dispatches_and_names_unknown_methods():
    bm25, dense = [(1, 5.0), (2, 1.0)], [(2, 0.9), (1, 0.1)]
    assert fuse(bm25, dense, method="convex", alpha=1.0)[0][0] == 2
    assert fuse(bm25, dense, method="convex", alpha=0.0)[0][0] == 1
    assert len(fuse(bm25, dense, method="rrf")) == 2
    with pytest.raises(InputError, match="'rfr'.*rrf, convex"):
        fuse(bm25, dense, method="rfr")

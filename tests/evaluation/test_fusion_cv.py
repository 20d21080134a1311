import pytest

from evaluation.fusion_cv import FusionConfig, cross_validate, fusion_table

RRF = FusionConfig("rrf", rrf_k=60)
CONVEX = FusionConfig("convex", alpha=0.3)


def test_each_fold_picks_on_training_queries_and_scores_the_held_out_ones():
    # RRF wins on queries 0-7, convex on 8-9; with 5 folds of two queries, the folds
    # holding a convex-favouring query still pick RRF from their training queries.
    per_query = {
        RRF: {str(q): (1.0 if q < 8 else 0.0) for q in range(10)},
        CONVEX: {str(q): (0.5 if q < 8 else 1.0) for q in range(10)},
    }
    result = cross_validate(per_query, folds=5)
    assert result["chosen"] == ["rrf k=60"] * 5
    assert result["cv"] == pytest.approx(0.8)


def test_ties_go_to_the_earlier_candidate():
    same = {str(q): 0.5 for q in range(4)}
    assert cross_validate({CONVEX: same, RRF: dict(same)}, folds=2)["chosen"] == ["convex alpha=0.3"] * 2


def test_table_reports_every_candidate_and_each_family():
    per_query = {RRF: {"a": 1.0, "b": 0.0}, CONVEX: {"a": 0.25, "b": 0.25}}
    table = fusion_table(per_query, folds=2)
    assert table["candidates"] == {"rrf k=60": 0.5, "convex alpha=0.3": 0.25}
    assert set(table["cross_validation"]) == {"rrf", "convex", "both"}
    assert table["cross_validation"]["convex"] == {"cv": 0.25, "chosen": ["convex alpha=0.3"] * 2}

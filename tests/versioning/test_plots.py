from versioning.plots import loss_rows, ndcg_rows, qa_rows


def test_ndcg_rows_take_each_modes_ndcg_whatever_its_cutoff():
    retrieval = {"bm25": {"ndcg@10": 0.4, "recall@100": 0.8}, "hybrid": {"ndcg@5": 0.5}}
    assert ndcg_rows(retrieval) == [{"mode": "bm25", "ndcg": 0.4}, {"mode": "hybrid", "ndcg": 0.5}]


def test_qa_rows_put_accuracies_on_the_f1_scale():
    rows = qa_rows(
        {"base": {"f1": 4.0, "exact_match": 0.0, "citation_accuracy": 0.06, "refusal_accuracy": 0.5, "n": 3}}
    )
    assert rows == [
        {"model": "base", "f1": 4.0, "exact_match": 0.0, "citation_accuracy": 6.0, "refusal_accuracy": 50.0}
    ]


def test_loss_rows_number_the_steps_from_one():
    assert loss_rows([2.5, 1.5]) == [{"step": 1, "loss": 2.5}, {"step": 2, "loss": 1.5}]

import pytest

from core.errors import InputError
from models.promotion import gate, promote
from models.registry import get_model, register_model, serving_model


def _model(conn, name, kind="full", **metrics):
    return register_model(conn, name=name, kind=kind, path=f"/models/{name}", sha256=name * 8, metrics=metrics)


def test_gate_compares_f1_and_refusal():
    current = {"f1": 40.0, "refusal_accuracy": 0.90}
    assert gate({"f1": 41.0, "refusal_accuracy": 0.89}, current).passed
    assert not gate({"f1": 40.0, "refusal_accuracy": 0.95}, current).passed
    refused = gate({"f1": 60.0, "refusal_accuracy": 0.85}, current)
    assert not refused.passed and "refusal accuracy" in refused.reasons[0]
    assert gate({"f1": 1.0, "refusal_accuracy": 0.0}, {}).passed  # a base without metrics sets no bar
    assert not gate({}, current).passed


def test_better_candidate_is_promoted_and_served(conn):
    base = _model(conn, "base", kind="base")
    first = _model(conn, "first", f1=40.0, refusal_accuracy=0.9)
    assert promote(conn, first).promoted
    assert serving_model(conn).id == first
    better = _model(conn, "better", f1=45.0, refusal_accuracy=0.89)
    result = promote(conn, better)
    assert result.promoted and result.comparison()["current"]["id"] == first
    assert serving_model(conn).id == better
    assert get_model(conn, first).status == "retired" and get_model(conn, base).status == "candidate"


def test_worse_candidate_is_refused_unless_forced(conn):
    _model(conn, "base", kind="base")
    good = _model(conn, "good", f1=50.0, refusal_accuracy=0.95)
    promote(conn, good)
    worse = _model(conn, "worse", f1=30.0, refusal_accuracy=0.95)
    refused = promote(conn, worse)
    assert not refused.promoted and serving_model(conn).id == good
    forced = promote(conn, worse, force=True)
    assert forced.promoted and serving_model(conn).id == worse
    note = conn.execute(
        "SELECT note FROM model_events WHERE model_id = %s AND to_status = 'promoted'", (worse,)
    ).fetchone()[0]
    assert note.startswith("forced past the gate")
    with pytest.raises(InputError, match="already promoted"):
        promote(conn, worse)


def test_the_gate_compares_served_path_figures_when_both_models_have_them():
    from models.promotion import compared_figures

    questions = {"squad_sha256": "s", "limit": 60, "seed": 0, "synthetic": "include", "k": 5}
    current = {
        "f1": 40.0,
        "refusal_accuracy": 0.9,
        "eval": {"retrieved": {"f1": 50.0, "refusal_accuracy": 0.9, "questions": questions}},
    }
    better_dev_worse_served = {
        "f1": 60.0,
        "refusal_accuracy": 0.9,
        "eval": {"retrieved": {"f1": 45.0, "refusal_accuracy": 0.9, "questions": questions}},
    }
    assert compared_figures(better_dev_worse_served, current)[0] == "eval qa (retrieved)"
    assert not gate(better_dev_worse_served, current).passed
    other_questions = {"retrieved": {"f1": 45.0, "refusal_accuracy": 0.9, "questions": {**questions, "limit": 10}}}
    assert compared_figures({**better_dev_worse_served, "eval": other_questions}, current)[0] == "dev"
    assert gate({**better_dev_worse_served, "eval": other_questions}, current).passed

"""``rag eval qa``: the oracle and retrieved contexts (pure), and end-to-end runs of a
registered (stand-in) model in both contexts against the real database: the retrieved one
ingests the paragraphs and asks through the serving pipeline."""

import json

import pytest

from evaluation.qa import evaluate_qa, oracle_items, retrieved_items
from evaluation.squad import read_squad
from retrieval.filters import collection_filter, metadata_filter, synthetic_filter
from tests.stand_ins import HashingEmbedder, ScriptedGenerator

PARAGRAPHS = {
    "Alpha": "The alpha river flows north past the old mill built in 1820.",
    "Beta": "Beta mountain is high and was first climbed in 1901.",
    "Gamma": "Gamma lake holds trout and pike.",
    "Delta": "Delta city hosts a jazz festival in July.",
}
ANSWERS = {"Alpha": "1820", "Beta": "1901", "Gamma": "trout and pike", "Delta": "July"}


@pytest.fixture
def squad_file(tmp_path):
    rows = [
        {
            "id": f"{t}-{i}",
            "title": t,
            "context": c,
            "question": f"{i}: what of {c.lower().rstrip('.')}?",
            "answers": [ANSWERS[t]],
            "answer_start": [c.index(ANSWERS[t])],
        }
        for t, c in PARAGRAPHS.items()
        for i in range(10)
    ]
    path = tmp_path / "squad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_oracle_gives_gold_plus_other_articles(squad_file):
    questions = read_squad(squad_file)
    items = oracle_items(questions, questions, seed=0)
    assert items == oracle_items(questions, questions, seed=0)
    withheld = [i for i in items if not i.answerable]
    assert 0 < len(withheld) < len(items) / 2
    for item in items:
        assert len(item.passages) == 3
        assert (item.question.context in item.passages) == item.answerable
        others = [p for p in item.passages if p != item.question.context]
        assert all(PARAGRAPHS[item.question.title] != p for p in others)
    assert len({i.passages.index(i.question.context) for i in items if i.answerable}) > 1


def test_retrieved_keeps_a_withheld_question_to_the_other_articles(squad_file):
    questions = read_squad(squad_file)
    items = retrieved_items(questions, questions, "squad-x", seed=0, filters=[synthetic_filter(False)])
    for item in items:
        assert item.filters[:2] == [collection_filter(["squad-x"]), synthetic_filter(False)]
        if item.answerable:
            assert len(item.filters) == 2
        else:
            others = sorted(t for t in PARAGRAPHS if t != item.question.title)
            assert item.filters[2] == metadata_filter("article", others)


@pytest.fixture
def tiny_record(conn, tmp_path):
    from models.registry import get_model, register_model

    model_id = register_model(
        conn, name="tiny", kind="full", path=tmp_path, sha256="t" * 64, policy={"refusal_threshold": -3.0}
    )
    conn.commit()
    return get_model(conn, model_id)


def _scripted(record, dtype):
    return ScriptedGenerator("1820 [1]", refusal_score=-4.0)


@pytest.mark.parametrize("context", ["oracle", "retrieved"])
def test_eval_qa_scores_what_the_answer_path_returns(squad_file, settings, tiny_record, tmp_path, context):
    predictions = tmp_path / "predictions.jsonl"
    result = evaluate_qa(
        settings,
        squad_file,
        model=str(tiny_record.id),
        context=context,
        limit=8,
        seed=1,
        predictions_path=predictions,
        embedder=HashingEmbedder(),
        generator_for=_scripted,
    )
    assert result["n"] == 8 and result["model"]["id"] == tiny_record.id and result["context"] == context
    assert result["policy"]["refusal_threshold"] == -3.0 and result["policy"]["decoding"] == "copy"
    assert result["k"] == (settings.default_k if context == "retrieved" else None)
    for key in ("exact_match", "f1", "citation_accuracy", "refusal_accuracy", "seconds_per_question"):
        assert isinstance(result[key], float)
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(lines) == 8 and sum(not line["answerable"] for line in lines) == 2
    for line in lines:
        assert line["refused"] or (line["answer"] == "1820 [1]" and line["cited"] == [1])
    if context == "oracle":
        for line in lines:
            assert line["refused"] == (line["relevance"] < settings.refusal_threshold)
            assert line["refused_by"] in (None, "gate")
    assert conn_logs(settings) == 0  # the served pipeline's log rows were rolled back


def conn_logs(settings) -> int:
    from core.db import connection

    with connection(settings) as conn:
        return conn.execute("SELECT count(*) FROM generation_logs").fetchone()[0]


def test_eval_qa_rejects_a_bad_synthetic_choice_before_any_work(squad_file, tmp_path):
    from core.errors import InputError
    from core.settings import Settings

    with pytest.raises(InputError, match="unknown --synthetic 'none'"):
        evaluate_qa(Settings(data_dir=tmp_path / "data"), squad_file, context="retrieved", synthetic="none")
    assert not (tmp_path / "data").exists()

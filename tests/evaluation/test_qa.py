"""``rag eval qa``: the oracle and retrieved contexts (pure), and one end-to-end run of a tiny
registered model on the oracle context against the real database."""

import json

import pytest

from evaluation.qa import evaluate_qa, oracle_items, retrieved_items
from qa.records import paragraph_sources
from qa.squad import read_squad

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
        {"id": f"{t}-{i}", "title": t, "context": c, "question": f"what about {t.lower()} {i}",
         "answers": [ANSWERS[t]], "answer_start": [c.index(ANSWERS[t])]}
        for t, c in PARAGRAPHS.items() for i in range(10)
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
        others = [p for n, p in enumerate(item.passages, 1) if n != item.gold_passage]
        assert item.question.context not in others
        if item.answerable:
            assert item.passages[item.gold_passage - 1] == item.question.context
        else:
            assert item.gold_passage is None
    assert len({i.gold_passage for i in items if i.answerable}) > 1


def test_retrieved_withholds_the_gold_article(squad_file):
    questions = read_squad(squad_file)
    sources = paragraph_sources(questions)
    everything = [(c, s) for c, s in sources.items()]

    def search(query, n):
        title = query.split()[2].capitalize()
        own = [(c, s) for c, s in everything if s.startswith(f"squad:{title}/")]
        return (own + [h for h in everything if h not in own])[:n]

    items = retrieved_items(questions, search, sources, k=2, seed=0)
    for item in items:
        assert len(item.passages) == 2
        if item.answerable:
            assert item.gold_passage == 1
        else:
            assert item.question.context not in item.passages and item.gold_passage is None


def test_eval_qa_runs_a_registered_model(squad_file, settings, conn, tmp_path):
    from tests.models.finetune_fixtures import tiny_model, tiny_tokenizer

    from models.artifact import weights_sha256
    from models.registry import register_model

    folder = tmp_path / "tiny"
    tokenizer = tiny_tokenizer()
    tiny_model(tokenizer).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    model_id = register_model(
        conn, name="tiny", kind="full", path=folder, sha256=weights_sha256(folder), metrics={"refusal_threshold": -3.0}
    )
    conn.commit()
    predictions = tmp_path / "predictions.jsonl"
    result = evaluate_qa(settings, squad_file, model=str(model_id), limit=8, seed=1, predictions_path=predictions)
    assert result["n"] == 8 and result["model"]["id"] == model_id and result["refusal_threshold"] == -3.0
    assert result["refusal_gate"] == settings.refusal_threshold
    for key in ("exact_match", "f1", "citation_accuracy", "refusal_accuracy", "seconds_per_question"):
        assert isinstance(result[key], float)
    assert set(result["plain"]) == {"exact_match", "f1", "citation_accuracy", "refusal_accuracy", "n"}
    assert result["synthetic"] == "include"
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert len(lines) == 8 and sum(not line["answerable"] for line in lines) == 2
    for line in lines:
        assert -1 <= line["relevance"] <= 1 and len(line["passages"]) == 3
        assert line["refused"] == (line["relevance"] < settings.refusal_threshold or line["refusal_score"] >= -3.0)


def test_eval_qa_rejects_a_bad_synthetic_choice_before_any_work(squad_file, tmp_path):
    from rag.errors import InputError
    from rag.settings import Settings

    with pytest.raises(InputError, match="unknown --synthetic 'none'"):
        evaluate_qa(Settings(data_dir=tmp_path / "data"), squad_file, context="retrieved", synthetic="none")
    assert not (tmp_path / "data").exists()

import pytest

from core.errors import InputError
from evaluation.squad import read_squad, split_by_article, write_flat_squad


def test_nested_and_flat_read_alike(squad_jsonl, squad_nested):
    assert read_squad(squad_jsonl) == read_squad(squad_nested)
    first = read_squad(squad_jsonl)[0]
    assert first.context[first.answer_starts[0] :].startswith(first.answers[0])


def test_flat_round_trip(squad_jsonl, tmp_path):
    questions = read_squad(squad_jsonl)
    write_flat_squad(questions, tmp_path / "again.jsonl")
    assert read_squad(tmp_path / "again.jsonl") == questions


def test_split_keeps_articles_whole(squad_jsonl):
    questions = read_squad(squad_jsonl)
    train, dev = split_by_article(questions, dev_fraction=0.25, seed=0)
    assert {q.title for q in train}.isdisjoint({q.title for q in dev})
    assert len(train) + len(dev) == len(questions) and dev
    assert split_by_article(questions, dev_fraction=0.25, seed=0) == (train, dev)


def test_bad_input_names_the_fix(tmp_path, squad_jsonl):
    with pytest.raises(InputError, match="does not exist"):
        read_squad(tmp_path / "missing.json")
    (tmp_path / "bad.jsonl").write_text('{"id": 1}\n')
    with pytest.raises(InputError, match="not SQuAD"):
        read_squad(tmp_path / "bad.jsonl")
    with pytest.raises(InputError, match="dev-fraction"):
        split_by_article(read_squad(squad_jsonl), dev_fraction=1.5, seed=0)

import pytest

from core.errors import InputError
from evaluation.squad import paragraph_sources, read_squad
from training.records import RecordOptions, build_records

REFUSAL = "No answer here."


def _records(squad_jsonl, **options):
    questions = read_squad(squad_jsonl)
    return questions, build_records(questions, refusal=REFUSAL, options=RecordOptions(**options))


def test_answerable_record_cites_the_gold_window(squad_jsonl):
    questions, records = _records(squad_jsonl, unanswerable=0.0, window_words=6)
    sources = paragraph_sources(questions)
    for q, r in zip(questions, records):
        assert r["answerable"] and len(r["passages"]) == 3 and r["origin"] == "squad"
        gold = r["passages"][r["citations"][0] - 1]
        assert gold["source"] == sources[q.context]
        assert r["answer"] in gold["text"] and len(gold["text"].split()) <= 6


def test_distractors_come_from_other_articles(squad_jsonl):
    questions, records = _records(squad_jsonl, unanswerable=0.5)
    for q, r in zip(questions, records):
        others = [p for n, p in enumerate(r["passages"], 1) if n not in r["citations"]]
        assert others and all(not p["source"].startswith(f"squad:{q.title}/") for p in others)


def test_refusal_records_drop_the_gold_passage(squad_jsonl):
    questions, records = _records(squad_jsonl, unanswerable=1.0)
    for q, r in zip(questions, records):
        assert not r["answerable"] and r["answer"] == REFUSAL and r["citations"] == []
        assert len(r["passages"]) == 3 and all(q.title not in p["source"] for p in r["passages"])


def test_seeded_share_and_order(squad_jsonl):
    _, first = _records(squad_jsonl, unanswerable=0.5, seed=3)
    _, again = _records(squad_jsonl, unanswerable=0.5, seed=3)
    assert first == again
    assert 0 < sum(not r["answerable"] for r in first) < len(first)
    assert len({r["citations"][0] for r in first if r["answerable"]}) > 1


def test_hard_negatives_come_from_the_neighbour_function(squad_jsonl):
    questions = read_squad(squad_jsonl)

    def neighbours(q):
        return [
            (q.context, "gold-again"),
            ("It was 1820, 1901, May, July, 1999 or by ferry.", "x"),
            ("A near miss.", "squad:Near/0"),
        ]

    options = RecordOptions(unanswerable=0.0, hard_negatives=1)
    records = build_records(questions, refusal=REFUSAL, options=options, neighbours=neighbours)
    for r in records:
        sources = [p["source"] for p in r["passages"]]
        assert "squad:Near/0" in sources and "x" not in sources and "gold-again" not in sources


def _served(squad_jsonl, neighbours, **options):
    questions = read_squad(squad_jsonl)
    options = RecordOptions(layout="served", **options)
    reader = lambda question, passages: [p.upper() for p in passages]  # noqa: E731  (visible: the reader ran)
    return questions, build_records(questions, refusal=REFUSAL, options=options, neighbours=neighbours, reader=reader)


def test_served_records_are_the_searched_passages_as_read(squad_jsonl):
    def neighbours(q):
        return [("A near miss.", "squad:Near/0"), (q.context, f"gold:{q.id}"), ("Another.", "squad:Near/1")]

    questions, records = _served(squad_jsonl, neighbours, unanswerable=0.0, k=2)
    for q, r in zip(questions, records):
        assert [p["source"] for p in r["passages"]] == ["squad:Near/0", f"gold:{q.id}"]  # the top k, in order
        assert r["passages"][1]["text"] == q.context.upper()  # as the reader cut it
        assert r["answerable"] and r["citations"] == [2] and r["answer"] == q.answers[0]


def test_served_records_cite_the_gold_paragraph_first(squad_jsonl):
    sources = paragraph_sources(read_squad(squad_jsonl))

    def neighbours(q):
        return [(f"Also {q.answers[0]} here.", "squad:Other/0"), (q.context, sources[q.context])]

    _, records = _served(squad_jsonl, neighbours, unanswerable=0.0)
    assert all(r["citations"] == [2] for r in records)


def test_served_refusals_hold_no_answer(squad_jsonl):
    def neighbours(q):
        return [(q.context, "gold"), (f"It says {q.answers[0]}.", "copy"), ("Nothing useful.", "squad:Near/0")]

    _, records = _served(squad_jsonl, neighbours, unanswerable=1.0)
    for r in records:
        assert not r["answerable"] and r["answer"] == REFUSAL and r["citations"] == []
        assert [p["source"] for p in r["passages"]] == ["squad:Near/0"]  # every hit holding the answer dropped


def test_served_question_whose_answer_no_passage_holds_targets_the_refusal(squad_jsonl):
    questions, records = _served(squad_jsonl, lambda q: [("Nothing useful.", "squad:Near/0")], unanswerable=0.0)
    assert all(not r["answerable"] and r["answer"] == REFUSAL for r in records)


def test_served_layout_needs_its_search_and_an_unknown_layout_is_named(squad_jsonl):
    questions = read_squad(squad_jsonl)
    with pytest.raises(ValueError, match="served layout"):
        build_records(questions, refusal=REFUSAL, options=RecordOptions(layout="served"))
    with pytest.raises(InputError, match="unknown --layout 'grid'"):
        RecordOptions(layout="grid")

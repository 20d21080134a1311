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

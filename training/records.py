"""Training records from SQuAD questions, in one of two layouts:

- ``served`` (the default): the passages are what serving would give the model for the
  question: the hybrid search's top ``k`` hits (the neighbour function), each cut by the answer
  function's focus (the ``Reader``); the answer cites the passage that holds it (the gold
  paragraph's first), and a question whose answer none of them holds targets the refusal. A
  seeded share drops every hit that holds the answer (the near misses a user meets) and targets
  the refusal;
- ``windows``: the gold window plus distractor windows from other articles (and hard negatives,
  when a neighbour function is given), in seeded order, the answer cited with its passage
  number; a seeded share drops the gold window and targets the refusal. It needs no index.

A record is plain JSON: ``{"id", "question", "passages": [{"text", "source"}], "answer",
"citations": [n], "answerable", "origin", "synthetic"}``; SQuAD records are human-written, so
``"synthetic": false`` (``training.feedback`` makes the model-made ones). Pure: the refusal sentence
and the neighbour lookup are passed in."""

import random
from collections.abc import Callable
from dataclasses import dataclass

from core.errors import InputError
from evaluation.squad import SquadQuestion, paragraph_sources
from training.windows import answer_window, random_window

# question -> candidate passages (text, source) most similar to it, best first
Neighbours = Callable[[SquadQuestion], list[tuple[str, str]]]
# question, passages -> each passage as the model reads it (the answer function's focus)
Reader = Callable[[str, list[str]], list[str]]

LAYOUTS = ("served", "windows")


@dataclass(frozen=True)
class RecordOptions:
    layout: str = "windows"  # served: the searcher's top k, focused; windows: see the module docstring
    k: int = 5  # served: passages per record (the service's default k)
    window_words: int = 50
    distractors: int = 2
    hard_negatives: int = 0  # how many of the distractors come from the retriever
    unanswerable: float = 0.25
    seed: int = 0

    def __post_init__(self) -> None:
        if self.layout not in LAYOUTS:
            raise InputError(f"unknown --layout {self.layout!r}; expected one of: {', '.join(LAYOUTS)}.")


def _answer_position(q: SquadQuestion) -> tuple[str, int]:
    answer, start = q.answers[0], q.answer_starts[0]
    if q.context[start : start + len(answer)] != answer:
        found = q.context.find(answer)
        start = found if found >= 0 else start
    return answer, start


def _distractor_pool(questions: list[SquadQuestion], sources: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """title -> the (context, source) of every paragraph of every *other* article, computed once."""
    by_title: dict[str, list[tuple[str, str]]] = {}
    for context, source in sources.items():
        title = source.removeprefix("squad:").rsplit("/", 1)[0]
        by_title.setdefault(title, []).append((context, source))
    return {
        title: [p for other, paragraphs in by_title.items() if other != title for p in paragraphs] for title in by_title
    }


def _hard_negatives(
    q: SquadQuestion, gold_source: str, neighbours: Neighbours | None, count: int
) -> list[tuple[str, str]]:
    if neighbours is None or count == 0:
        return []
    answer = q.answers[0].lower()
    found = [(t, s) for t, s in neighbours(q) if s != gold_source and answer not in t.lower()]
    return found[:count]


def build_records(
    questions: list[SquadQuestion],
    *,
    refusal: str,
    options: RecordOptions,
    neighbours: Neighbours | None = None,
    distractor_questions: list[SquadQuestion] | None = None,
    reader: Reader | None = None,
) -> list[dict]:
    """One record per question, in the questions' order. ``served`` needs ``neighbours`` and
    ``reader``; in ``windows``, distractors come from other articles of ``distractor_questions``
    (default: ``questions`` themselves)."""
    if options.layout == "served":
        if neighbours is None or reader is None:
            raise ValueError("the served layout needs the neighbour search and the reader")
        return _served_records(questions, refusal=refusal, options=options, neighbours=neighbours, reader=reader)
    rng = random.Random(options.seed)
    sources = paragraph_sources(distractor_questions or questions)
    sources.update(paragraph_sources(questions))
    pool = _distractor_pool(questions if distractor_questions is None else distractor_questions, sources)
    records = []
    for q in questions:
        answer, start = _answer_position(q)
        gold_source = sources[q.context]
        others = pool.get(q.title, [])
        answerable = rng.random() >= options.unanswerable
        wanted = options.distractors + (0 if answerable else 1)
        hard = _hard_negatives(q, gold_source, neighbours, min(options.hard_negatives, wanted))
        if len(others) < wanted - len(hard):
            raise InputError(
                f"article {q.title!r} has {len(others)} paragraphs of other articles to draw distractors from, "
                f"{wanted - len(hard)} needed; lower --distractors or use a SQuAD file with more articles."
            )
        picked = [(random_window(t, options.window_words, rng), s) for t, s in hard]
        picked += [(random_window(t, options.window_words, rng), s) for t, s in rng.sample(others, wanted - len(hard))]
        passages = [{"text": text, "source": source} for text, source in picked]
        if answerable:
            gold = answer_window(q.context, answer, start, options.window_words, rng)
            passages.append({"text": gold.text, "source": gold_source})
        rng.shuffle(passages)
        citations = [1 + [p["source"] for p in passages].index(gold_source)] if answerable else []
        records.append(
            {
                "id": q.id,
                "question": q.question,
                "passages": passages,
                "answer": answer if answerable else refusal,
                "citations": citations,
                "answerable": answerable,
                "origin": "squad",
                "synthetic": False,
            }
        )
    return records


def _served_records(
    questions: list[SquadQuestion], *, refusal: str, options: RecordOptions, neighbours: Neighbours, reader: Reader
) -> list[dict]:
    rng = random.Random(options.seed)
    sources = paragraph_sources(questions)
    records = []
    for q in questions:
        answer = _answer_position(q)[0]
        withheld = rng.random() < options.unanswerable
        hits = neighbours(q)
        if withheld:
            hits = [(t, s) for t, s in hits if s != sources[q.context] and answer.lower() not in t.lower()]
        hits = hits[: options.k]
        read = reader(q.question, [text for text, _ in hits])
        passages = [{"text": text, "source": source} for text, (_, source) in zip(read, hits)]
        holding = [n for n, p in enumerate(passages, 1) if answer.lower() in p["text"].lower()]
        holding.sort(key=lambda n: passages[n - 1]["source"] != sources[q.context])  # the gold paragraph first
        answerable = bool(holding) and not withheld
        records.append(
            {
                "id": q.id,
                "question": q.question,
                "passages": passages,
                "answer": answer if answerable else refusal,
                "citations": holding[:1] if answerable else [],
                "answerable": answerable,
                "origin": "squad",
                "synthetic": False,
            }
        )
    return records

"""Reading SQuAD v1.1: the official nested JSON (``data/paragraphs/qas``) or the flat JSONL of
``shared/data/squad`` (one question per line with ``title``, ``context``, ``answers`` and
``answer_start``). Both become the same flat ``SquadQuestion`` list, in file order."""

import json
from dataclasses import dataclass
from pathlib import Path

from core.errors import InputError


@dataclass(frozen=True)
class SquadQuestion:
    id: str
    title: str
    context: str
    question: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]


def _from_nested(document: dict) -> list[SquadQuestion]:
    questions = []
    for article in document["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                questions.append(
                    SquadQuestion(
                        id=qa["id"],
                        title=article["title"],
                        context=paragraph["context"],
                        question=qa["question"],
                        answers=tuple(a["text"] for a in qa["answers"]),
                        answer_starts=tuple(a["answer_start"] for a in qa["answers"]),
                    )
                )
    return questions


def _from_flat(row: dict) -> SquadQuestion:
    return SquadQuestion(
        id=row["id"],
        title=row["title"],
        context=row["context"],
        question=row["question"],
        answers=tuple(row["answers"]),
        answer_starts=tuple(row["answer_start"]),
    )


def read_squad(path: Path) -> list[SquadQuestion]:
    """Every answerable question of a SQuAD v1.1 file, nested JSON or flat JSONL."""
    if not path.is_file():
        raise InputError(f"SQuAD file {path} does not exist; pass --squad with a SQuAD v1.1 .json or .jsonl file.")
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("{") and '"data"' in text[:200]:
            questions = _from_nested(json.loads(text))
        else:
            questions = [_from_flat(json.loads(line)) for line in text.splitlines() if line.strip()]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(
            f"{path} is not SQuAD v1.1 ({exc!r}); expected nested JSON with data/paragraphs/qas "
            "or JSONL rows with id, title, context, question, answers, answer_start."
        ) from exc
    answerable = [q for q in questions if q.answers]
    if not answerable:
        raise InputError(f"{path} holds no answerable SQuAD question; check the file.")
    return answerable


def write_flat_squad(questions: list[SquadQuestion], path: Path) -> None:
    """The flat JSONL form, readable again by ``read_squad``."""
    with path.open("w", encoding="utf-8") as out:
        for q in questions:
            row = {
                "id": q.id,
                "title": q.title,
                "context": q.context,
                "question": q.question,
                "answers": list(q.answers),
                "answer_start": list(q.answer_starts),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def split_by_article(
    questions: list[SquadQuestion], *, dev_fraction: float, seed: int
) -> tuple[list[SquadQuestion], list[SquadQuestion]]:
    """(train, dev): whole articles go to dev, in seeded order, until it holds about
    ``dev_fraction`` of the questions; no article is on both sides."""
    import random

    if not 0 < dev_fraction < 1:
        raise InputError(f"--dev-fraction {dev_fraction} is out of range; expected a number between 0 and 1.")
    titles = sorted({q.title for q in questions})
    if len(titles) < 2:
        raise InputError(f"the SQuAD file has {len(titles)} article(s); a split by article needs at least 2.")
    random.Random(seed).shuffle(titles)
    sizes = {t: 0 for t in titles}
    for q in questions:
        sizes[q.title] += 1
    wanted = dev_fraction * len(questions)
    dev_titles: set[str] = set()
    taken = 0
    for title in titles:
        # Skip an article that would overshoot the wanted size by half: SQuAD articles differ 5x.
        if taken + sizes[title] <= 1.5 * wanted and len(dev_titles) < len(titles) - 1:
            dev_titles.add(title)
            taken += sizes[title]
        if taken >= wanted and len(dev_titles) >= min(2, len(titles) // 4):
            break
    if not dev_titles:
        dev_titles.add(min(titles, key=lambda t: (sizes[t], t)))
    train = [q for q in questions if q.title not in dev_titles]
    dev = [q for q in questions if q.title in dev_titles]
    return train, dev


def paragraph_sources(questions: list[SquadQuestion]) -> dict[str, str]:
    """A stable source name per paragraph: ``squad:TITLE/N``, N counting the article's paragraphs."""
    sources: dict[str, str] = {}
    per_title: dict[str, int] = {}
    for q in questions:
        if q.context not in sources:
            n = per_title.get(q.title, 0)
            per_title[q.title] = n + 1
            sources[q.context] = f"squad:{q.title}/{n}"
    return sources

"""``rag eval qa``: answer quality of a registered generator on SQuAD questions.

Contexts: ``oracle`` gives each question its gold paragraph plus two paragraphs of other
articles of the same file, in seeded order; ``retrieved`` ingests the file's paragraphs into
their own collection and passes the top-k hybrid hits. In a seeded 25% of the questions the
gold paragraph (oracle) or the gold article (retrieved) is withheld and the right answer is
the refusal. Scoring is ``models.qa_metrics``. Refusal is decided as serving decides it: the
relevance gate (``settings.refusal_threshold`` on the best question-passage cosine), then the
calibrated refusal threshold stored with a fine-tuned model when it has one; the plain greedy
result (no gate, no threshold, no span snapping) is reported beside."""

import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluation.retrieval import source_filters
from models.artifact import ModelArtifact
from models.finetune.dev import judge, seeded_sample
from models.embedder import load_embedder
from models.qa_answer import QAAnswerer, QAPrediction, dense_relevance
from models.qa_metrics import score
from qa.records import paragraph_sources
from qa.squad import SquadQuestion, read_squad
from rag.errors import InputError
from rag.settings import Settings
from retrieval.filters import Filter

CONTEXTS = ("oracle", "retrieved")
REFUSAL_SHARE = 0.25


@dataclass(frozen=True)
class QAItem:
    question: SquadQuestion
    passages: list[str]
    answerable: bool
    gold_passage: int | None  # 1-based number of the passage from the gold paragraph


def _withheld(questions: list[SquadQuestion], seed: int) -> set[str]:
    """Exactly a quarter of the questions, drawn with a seed of their own (the same seed as the
    sample's would withhold none of a small sample's first questions)."""
    chosen = random.Random(f"withheld-{seed}").sample(questions, round(REFUSAL_SHARE * len(questions)))
    return {q.id for q in chosen}


def oracle_items(questions: list[SquadQuestion], all_questions: list[SquadQuestion], *, seed: int) -> list[QAItem]:
    """Gold paragraph + 2 other-article paragraphs (3 others when withheld), seeded order."""
    paragraphs = list(paragraph_sources(all_questions))
    titles = {q.context: q.title for q in all_questions}
    withheld = _withheld(questions, seed)
    rng = random.Random(seed + 1)
    items = []
    for q in questions:
        others = [p for p in paragraphs if titles[p] != q.title]
        if len(others) < 3:
            raise InputError("the oracle context needs paragraphs of at least one other article; pass a bigger --squad file.")
        answerable = q.id not in withheld
        passages = rng.sample(others, 2 if answerable else 3) + ([q.context] if answerable else [])
        rng.shuffle(passages)
        gold = passages.index(q.context) + 1 if answerable else None
        items.append(QAItem(q, passages, answerable, gold))
    return items


def retrieved_items(
    questions: list[SquadQuestion],
    search: Callable[[str, int], list[tuple[str, str]]],
    sources: dict[str, str],
    *,
    k: int,
    seed: int,
) -> list[QAItem]:
    """The top-k hits of ``search(query, n) -> [(text, source)]``; withheld questions lose every
    hit of their own article (the search over-fetches to still give k). ``sources`` names each
    paragraph as ``paragraph_sources`` does; the gold passage is the hit of the gold paragraph
    that holds the answer."""
    withheld = _withheld(questions, seed)
    items = []
    for q in questions:
        answerable = q.id not in withheld
        hits = search(q.question, k if answerable else 4 * k)
        if not answerable:
            hits = [(t, s) for t, s in hits if not s.startswith(f"squad:{q.title}/")]
        hits = hits[:k]
        gold = next((n for n, (t, s) in enumerate(hits, 1) if s == sources[q.context] and q.answers[0] in t), None)
        items.append(QAItem(q, [t for t, _ in hits], answerable, gold))
    return items


def write_predictions(
    path: Path, items: list[QAItem], predictions: list[QAPrediction], *, threshold: float | None, gate: float | None
) -> None:
    """One JSON line per question: what it was given, what the model answered, and the
    refusal signals behind the decision."""
    with path.open("w") as out:
        for item, prediction in zip(items, predictions, strict=True):
            line = {
                "id": item.question.id, "question": item.question.question, "golds": list(item.question.answers),
                "answerable": item.answerable, "gold_passage": item.gold_passage, "passages": item.passages,
                **asdict(prediction), "refused": prediction.refused(threshold, gate),
            }
            out.write(json.dumps(line) + "\n")


def resolve_model(conn, settings: Settings, which: str):
    """The registry record for ``base``, ``promoted`` or a model id."""
    from models.generator import ensure_base_model
    from models.registry import get_model, list_models, register_base

    if which == "base":
        return register_base(conn, ensure_base_model(settings))
    if which == "promoted":
        promoted = [m for m in list_models(conn) if m.status == "promoted"]
        if not promoted:
            raise InputError("no model is promoted yet; pass --model base or an id, or run `rag models promote ID`.")
        return promoted[0]
    if not which.isdigit():
        raise InputError(f"unknown --model {which!r}; expected base, promoted or a model id from `rag models list`.")
    return get_model(conn, int(which))


def _retrieved(settings: Settings, squad: Path, questions, sample, *, k: int, seed: int, filters: list[Filter]) -> list[QAItem]:
    from qa.corpus import paragraph_search

    with paragraph_search(settings, squad, questions, filters) as search:
        return retrieved_items(sample, search, paragraph_sources(questions), k=k, seed=seed)


def evaluate_qa(
    settings: Settings,
    squad: Path,
    *,
    model: str = "base",
    context: str = "oracle",
    k: int = 3,
    limit: int | None = None,
    seed: int = 0,
    synthetic: str = "include",
    predictions_path: Path | None = None,
    progress: Callable = lambda xs: xs,
) -> dict:
    """The issue's JSON: ``exact_match``, ``f1``, ``citation_accuracy``, ``refusal_accuracy``,
    ``n``, ``seconds_per_question``, plus ``plain`` (greedy refusal, no span snapping),
    ``refusal_threshold``, the ``model`` evaluated, ``context`` and ``synthetic``. The oracle
    context holds only the file's own paragraphs; ``synthetic="exclude"`` keeps the retrieved
    context to sources not marked synthetic."""
    from models.generator import load_model
    from rag.db import connection

    if context not in CONTEXTS:
        raise InputError(f"unknown --context {context!r}; expected one of: {', '.join(CONTEXTS)}.")
    filters = source_filters(synthetic)
    questions = read_squad(squad)
    sample = seeded_sample(questions, limit, seed)
    if context == "oracle":
        items = oracle_items(sample, questions, seed=seed)
    else:
        items = _retrieved(settings, squad, questions, sample, k=k, seed=seed, filters=filters)
    with connection(settings) as conn:
        record = resolve_model(conn, settings, model)
    answerer = QAAnswerer(
        *load_model(settings, ModelArtifact(Path(record.path), record.sha256)),
        relevance=dense_relevance(load_embedder(settings)),
    )
    threshold, gate = record.metrics.get("refusal_threshold"), settings.refusal_threshold
    started = time.monotonic()
    predictions = [answerer.answer(item.question.question, item.passages) for item in progress(items)]
    seconds = (time.monotonic() - started) / max(1, len(items))
    if predictions_path is not None:
        write_predictions(predictions_path, items, predictions, threshold=threshold, gate=gate)

    def scored(with_threshold: float | None, with_gate: float | None, snap: bool) -> dict:
        return score(
            [
                judge(p, answerable=i.answerable, golds=list(i.question.answers), gold_passage=i.gold_passage,
                      threshold=with_threshold, gate=with_gate, snap=snap)
                for p, i in zip(predictions, items)
            ]
        )

    return {
        **scored(threshold, gate, snap=True),
        "seconds_per_question": round(seconds, 3),
        "plain": scored(None, None, snap=False),
        "refusal_threshold": threshold,
        "refusal_gate": gate,
        "model": {**record.summary(), "status": record.status},
        "context": context,
        "synthetic": synthetic,
    }

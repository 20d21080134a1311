"""``rag eval qa``: answer quality of a registered generator on SQuAD questions, through the
path users are served.

Contexts: ``oracle`` gives each question its gold paragraph plus two paragraphs of other
articles of the same file, in seeded order, and answers with the one answer function
(``answering.answer``); ``retrieved`` ingests the file's paragraphs into a collection of their own
and asks each question through the serving pipeline itself (``answering.compose``: hybrid
retrieval with the service's defaults, ``RAG_DEFAULT_K`` passages, then the same answer
function; the log rows are rolled back). Both answer under the model's answer policy
(``models.policy``), so the figures are what ``POST /generate`` returns. In a seeded 25% of the
questions the gold paragraph (oracle) or the gold article (retrieved: a metadata filter keeps
the search to the other articles) is withheld and the right answer is the refusal. Scoring is
``evaluation.qa_metrics``."""

import json
import random
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from answering.answer import answer
from core.errors import InputError
from core.settings import Settings
from evaluation.qa_metrics import Judged, score, seeded_sample
from evaluation.retrieval import source_filters
from evaluation.squad import SquadQuestion, paragraph_sources, read_squad
from models.artifact import file_sha256
from models.embedder import Embedder, load_embedder
from models.policy import AnswerPolicy, resolve_policy
from models.prompt import strip_markers
from models.registry import ModelRecord, record_evaluation
from retrieval.filters import Filter, collection_filter, metadata_filter

CONTEXTS = ("oracle", "retrieved")
REFUSAL_SHARE = 0.25


@dataclass(frozen=True)
class QAItem:
    question: SquadQuestion
    passages: list[str]  # oracle: the passages given; retrieved: empty (the search finds them)
    answerable: bool
    filters: list[Filter]  # retrieved: what the search is kept to


@dataclass(frozen=True)
class QAOutcome:
    """One question as answered: the passages it was given and the served answer."""

    passages: list[str]
    answer: str
    refused: bool
    cited: list[int]
    signals: dict


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
            raise InputError(
                "the oracle context needs paragraphs of at least one other article; pass a bigger --squad file."
            )
        answerable = q.id not in withheld
        passages = rng.sample(others, 2 if answerable else 3) + ([q.context] if answerable else [])
        rng.shuffle(passages)
        items.append(QAItem(q, passages, answerable, []))
    return items


def retrieved_items(
    questions: list[SquadQuestion],
    all_questions: list[SquadQuestion],
    collection: str,
    *,
    seed: int,
    filters: list[Filter],
) -> list[QAItem]:
    """Each question searched in ``collection`` (and ``filters``); a withheld question's search
    is kept to the other articles' paragraphs."""
    titles = sorted({q.title for q in all_questions})
    withheld = _withheld(questions, seed)
    items = []
    for q in questions:
        answerable = q.id not in withheld
        kept = [collection_filter([collection]), *filters]
        if not answerable:
            others = [t for t in titles if t != q.title]
            if not others:
                raise InputError("the retrieved context needs at least two articles in --squad to withhold one.")
            kept.append(metadata_filter("article", others))
        items.append(QAItem(q, [], answerable, kept))
    return items


def write_predictions(path: Path, items: list[QAItem], outcomes: list[QAOutcome]) -> None:
    """One JSON line per question: what it was given, what was answered, and the signals that
    decided the refusal."""
    with path.open("w") as out:
        for item, outcome in zip(items, outcomes, strict=True):
            line = {
                "id": item.question.id,
                "question": item.question.question,
                "golds": list(item.question.answers),
                "answerable": item.answerable,
                "passages": outcome.passages,
                "answer": outcome.answer,
                "refused": outcome.refused,
                "cited": outcome.cited,
                **outcome.signals,
            }
            out.write(json.dumps(line) + "\n")


def _judged(item: QAItem, outcome: QAOutcome) -> Judged:
    return Judged(
        answerable=item.answerable,
        refused=outcome.refused,
        answer=strip_markers(outcome.answer),
        golds=list(item.question.answers),
        cited=[outcome.passages[n - 1] for n in outcome.cited],
    )


GeneratorFor = Callable[[ModelRecord, str], object]  # a model record and a dtype -> a Generator


@dataclass(frozen=True)
class QAModels:
    """What answers: the model's record, its resolved answer policy, its generator, the embedder."""

    record: ModelRecord
    policy: AnswerPolicy
    generator: object
    embedder: Embedder


def load_qa_models(
    settings: Settings, model: str, embedder: Embedder | None, generator_for: GeneratorFor | None
) -> QAModels:
    """Resolve ``model`` (``serving`` may convert the base model first and registers the shipped
    adapter on a first use) and load what the arguments leave out: MiniLM, its generator."""
    from core.db import connection
    from models.generator import load_generator
    from models.serving import resolve_model

    with connection(settings, autocommit=True) as conn:
        record = resolve_model(conn, settings, model)
    policy = resolve_policy(record.policy, settings)
    embedder = embedder or load_embedder(settings)
    generator_for = generator_for or (lambda record, dtype: load_generator(settings, record.artifact, dtype))
    return QAModels(record, policy, generator_for(record, policy.dtype), embedder)


def _oracle_outcomes(items: list[QAItem], models: QAModels, progress: Callable) -> list[QAOutcome]:
    outcomes = []
    for item in progress(items):
        question, passages = item.question.question, item.passages
        result = answer(question, passages, generator=models.generator, embedder=models.embedder, policy=models.policy)
        outcomes.append(QAOutcome(item.passages, result.text, result.refused, result.cited, result.signals()))
    return outcomes


def _retrieved_outcomes(settings, items: list[QAItem], models: QAModels, progress: Callable) -> list[QAOutcome]:
    from contextlib import nullcontext

    from answering.compose import compose_answerer
    from answering.pipeline import AnswerRequest, answer_unlogged
    from core.db import connection
    from retrieval.searcher import open_searcher

    outcomes = []
    with connection(settings) as conn:
        answerer = compose_answerer(
            settings,
            lambda: nullcontext(conn),
            model=models.record,
            searcher=open_searcher(settings, models.embedder),
            generator=models.generator,
            policy=models.policy,
        )
        with closing(answerer):
            for item in progress(items):
                request = AnswerRequest(item.question.question, k=settings.default_k, filters=item.filters)
                result = answer_unlogged(answerer, conn, request)
                cited = [c["n"] for c in result.citations]
                passages = [p["text"] for p in result.passages]
                outcomes.append(QAOutcome(passages, result.answer, result.refused, cited, result.signals))
    return outcomes


@dataclass(frozen=True)
class Answered:
    """The sample as answered in one context: its items, their outcomes, the collection searched
    (retrieved) and the answering time per question."""

    items: list[QAItem]
    outcomes: list[QAOutcome]
    collection: str | None
    seconds_per_question: float


def answer_sample(
    settings: Settings,
    squad: Path,
    sample: list[SquadQuestion],
    questions: list[SquadQuestion],
    models: QAModels,
    *,
    context: str,
    seed: int,
    filters: list[Filter],
    progress: Callable = lambda xs: xs,
) -> Answered:
    """The context's items for ``sample`` (the retrieved context first ingests the file's
    paragraphs), answered; only the answering is timed."""
    if context == "oracle":
        collection, items = None, oracle_items(sample, questions, seed=seed)
        started = time.monotonic()
        outcomes = _oracle_outcomes(items, models, progress)
    else:
        from evaluation.corpus import ingest_paragraphs

        collection = ingest_paragraphs(settings, squad, questions, models.embedder)
        items = retrieved_items(sample, questions, collection, seed=seed, filters=filters)
        started = time.monotonic()
        outcomes = _retrieved_outcomes(settings, items, models, progress)
    return Answered(items, outcomes, collection, (time.monotonic() - started) / max(1, len(items)))


def scored(answered: Answered, squad: Path, *, limit: int | None, seed: int, synthetic: str, k: int | None) -> dict:
    """The figures recorded with the model: the scores, and what identifies the questions."""
    judged = [_judged(item, outcome) for item, outcome in zip(answered.items, answered.outcomes, strict=True)]
    questions = {"squad_sha256": file_sha256(squad), "limit": limit, "seed": seed, "synthetic": synthetic, "k": k}
    return {**score(judged), "questions": questions}


def evaluate_qa(
    settings: Settings,
    squad: Path,
    *,
    model: str = "serving",
    context: str = "oracle",
    limit: int | None = None,
    seed: int = 0,
    synthetic: str = "include",
    predictions_path: Path | None = None,
    progress: Callable = lambda xs: xs,
    embedder: Embedder | None = None,
    generator_for: GeneratorFor | None = None,
) -> dict:
    """``exact_match``, ``f1``, ``citation_accuracy``, ``refusal_accuracy``, ``n``,
    ``seconds_per_question``, the ``model`` evaluated with its ``policy``, ``context``, ``k``
    (retrieved) and ``synthetic``. The oracle context holds only the file's own paragraphs;
    ``synthetic="exclude"`` keeps the retrieved context to sources not marked synthetic.
    ``embedder`` and ``generator_for`` replace the real models (tests; the CLI leaves them out)."""
    from core.db import connection

    if context not in CONTEXTS:
        raise InputError(f"unknown --context {context!r}; expected one of: {', '.join(CONTEXTS)}.")
    filters = source_filters(synthetic)  # checks the choice before any work
    questions = read_squad(squad)
    sample = seeded_sample(questions, limit, seed)
    models = load_qa_models(settings, model, embedder, generator_for)
    answered = answer_sample(
        settings, squad, sample, questions, models, context=context, seed=seed, filters=filters, progress=progress
    )
    if predictions_path is not None:
        write_predictions(predictions_path, answered.items, answered.outcomes)
    k = settings.default_k if context == "retrieved" else None
    figures = scored(answered, squad, limit=limit, seed=seed, synthetic=synthetic, k=k)
    with connection(settings, autocommit=True) as conn:
        record_evaluation(conn, models.record.id, context, figures)
    return {
        **figures,
        "seconds_per_question": round(answered.seconds_per_question, 3),
        "model": {**models.record.summary(), "status": models.record.status},
        "policy": models.policy.to_dict(),
        "context": context,
        "k": k,
        "collection": answered.collection,
        "synthetic": synthetic,
    }

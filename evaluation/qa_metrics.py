"""SQuAD v1.1 scoring, pure: the official answer normalisation, exact match and token F1
(best over the gold answers), plus citation and refusal accuracy for grounded answers.
Imported by fine-tuning (dev metrics) and by ``rag eval qa``."""

import random
import re
import string
from collections import Counter
from dataclasses import dataclass

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def seeded_sample(items: list, limit: int | None, seed: int) -> list:
    """``limit`` items drawn with ``seed`` (all of them, in order, when limit is None or larger)."""
    if limit is None or limit >= len(items):
        return list(items)
    return random.Random(seed).sample(items, limit)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation and the articles a/an/the, squeeze whitespace (official script)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def f1_score(prediction: str, gold: str) -> float:
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(metric, prediction: str, golds: list[str]) -> float:
    return max(metric(prediction, gold) for gold in golds)


@dataclass(frozen=True)
class Judged:
    """One question's outcome: what was expected and what the model did."""

    answerable: bool  # the passages hold the answer
    refused: bool
    answer: str  # the answer text without citation markers
    golds: list[str]
    cited: list[str]  # the texts of the passages the answer cites

    @property
    def cites_gold(self) -> bool:
        """A cited passage holds a gold answer (as whole words, after SQuAD normalisation)."""
        texts = [f" {normalize_answer(text)} " for text in self.cited]
        return any(f" {normalize_answer(gold)} " in text for gold in self.golds for text in texts)


def score(judged: list[Judged]) -> dict[str, float | int]:
    """``exact_match`` and ``f1`` (percent, answerable questions, a refusal scores 0),
    ``citation_accuracy`` (answered answerable questions citing a passage that holds a gold
    answer),
    ``refusal_accuracy`` (all questions: refused exactly when it should), and ``n``."""
    answerable = [j for j in judged if j.answerable]
    answered = [j for j in answerable if not j.refused]
    em = sum(0.0 if j.refused else best_over_golds(exact_match, j.answer, j.golds) for j in answerable)
    f1 = sum(0.0 if j.refused else best_over_golds(f1_score, j.answer, j.golds) for j in answerable)
    cited = sum(j.cites_gold for j in answered)
    refusals = sum(j.refused != j.answerable for j in judged)
    return {
        "exact_match": round(100 * em / len(answerable), 2) if answerable else 0.0,
        "f1": round(100 * f1 / len(answerable), 2) if answerable else 0.0,
        "citation_accuracy": round(cited / len(answered), 4) if answered else 0.0,
        "refusal_accuracy": round(refusals / len(judged), 4) if judged else 0.0,
        "n": len(judged),
    }

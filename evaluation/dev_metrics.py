"""Dev metrics of a model on QA records, through the one answer function (``answering.answer``):
``choose_decoding`` calibrates the model's refusal threshold on a seeded sample, answers the
sample again under the calibrated policy and scores what it returned with the SQuAD metrics;
it does so for each decoding (copy, free) and keeps the one with the higher F1, so the policy a
model is served with decodes the way that answered its dev records best."""

from collections.abc import Callable
from dataclasses import replace

from answering.answer import Answer, answer
from evaluation.qa_metrics import Judged, score, seeded_sample
from models.embedder import Embedder
from models.generator import Generator
from models.policy import DECODINGS, AnswerPolicy
from models.prompt import strip_markers


def calibrate_refusal(scores: list[float | None], should_refuse: list[bool]) -> float | None:
    """The threshold on the model's refusal score that refuses exactly when it should most
    often (midpoint between neighbouring scores, so it generalises a little). A score of None
    is a question the gate refused before the model, whatever the threshold. None (the model
    never refuses by itself) when no threshold does better than none."""
    ranked = sorted({s for s in scores if s is not None})
    if not ranked:
        return None
    candidates = [(a + b) / 2 for a, b in zip(ranked, ranked[1:])] + [ranked[0] - 1.0]

    def accuracy(threshold: float | None) -> int:
        return sum(
            (s is None or (threshold is not None and s >= threshold)) == r for s, r in zip(scores, should_refuse)
        )

    best = max(candidates, key=accuracy)
    return best if accuracy(best) > accuracy(None) else None


def _judged(result: Answer, record: dict) -> Judged:
    passages = [p["text"] for p in record["passages"]]
    return Judged(
        answerable=record["answerable"],
        refused=result.refused,
        answer=strip_markers(result.text),
        golds=[record["answer"]],
        cited=[passages[n - 1] for n in result.cited],
    )


def _calibrated(answers: Callable[[AnswerPolicy], list[Answer]], sample: list[dict], policy: AnswerPolicy):
    """The metrics of ``sample`` answered (``answers``) under ``policy`` with its refusal threshold
    calibrated on them, and that calibrated policy."""
    uncalibrated = replace(policy, refusal_threshold=None)
    first = answers(uncalibrated)
    threshold = calibrate_refusal(
        [None if a.refused_by == "gate" else a.refusal_score for a in first], [not r["answerable"] for r in sample]
    )
    calibrated = replace(uncalibrated, refusal_threshold=None if threshold is None else round(threshold, 4))
    final = first if calibrated == uncalibrated else answers(calibrated)
    return score([_judged(a, r) for a, r in zip(final, sample)]), calibrated


def choose_decoding(
    generator: Generator,
    embedder: Embedder,
    records: list[dict],
    *,
    policy: AnswerPolicy,
    limit: int,
    seed: int,
    progress=lambda xs: xs,
) -> tuple[dict, AnswerPolicy, dict[str, dict]]:
    """The dev metrics of a seeded sample of ``limit`` records under each decoding, each with its
    refusal threshold calibrated; the metrics and calibrated policy of the decoding with the
    higher F1 (``policy``'s own on a tie), and every decoding's metrics."""
    sample = seeded_sample(records, limit, seed)

    def answers(under: AnswerPolicy) -> list[Answer]:
        return [
            answer(
                r["question"], [p["text"] for p in r["passages"]], generator=generator, embedder=embedder, policy=under
            )
            for r in progress(sample)
        ]

    measured = {
        decoding: _calibrated(answers, sample, replace(policy, decoding=decoding))
        for decoding in sorted(DECODINGS, key=lambda d: d != policy.decoding)
    }
    chosen = max(measured, key=lambda d: measured[d][0]["f1"])  # the first (the policy's) wins a tie
    metrics, calibrated = measured[chosen]
    return metrics, calibrated, {decoding: result[0] for decoding, result in measured.items()}

"""Dev metrics of a model on QA records: answer a seeded sample, calibrate the refusal
threshold on it, score with the SQuAD metrics."""

import random

from models.qa_answer import QAAnswerer, QAPrediction, calibrate_refusal
from models.qa_metrics import Judged, score


def seeded_sample(items: list, limit: int | None, seed: int) -> list:
    """``limit`` items drawn with ``seed`` (all of them, in order, when limit is None or larger)."""
    if limit is None or limit >= len(items):
        return list(items)
    return random.Random(seed).sample(items, limit)


def judge(
    prediction: QAPrediction, *, answerable: bool, golds: list[str], gold_passage: int | None, threshold: float | None,
    gate: float | None, snap: bool,
) -> Judged:
    return Judged(
        answerable=answerable,
        refused=prediction.refused(threshold, gate),
        answer=prediction.snapped if snap else prediction.answer,
        golds=golds,
        cited=prediction.snapped_cited if snap else prediction.cited,
        gold_passage=gold_passage,
    )


def dev_metrics(
    answerer: QAAnswerer, records: list[dict], *, limit: int, seed: int, gate: float | None, progress=lambda xs: xs
) -> dict:
    """Metrics with the relevance gate, the calibrated threshold and span snapping (and
    ``refusal_threshold`` and ``refusal_gate`` themselves), plus plain greedy decoding's
    metrics (no gate, no threshold, no snapping) under ``plain``."""
    sample = seeded_sample(records, limit, seed)
    predictions = [answerer.answer(r["question"], [p["text"] for p in r["passages"]]) for r in progress(sample)]
    threshold = calibrate_refusal(
        [p.refusal_score for p in predictions],
        [not r["answerable"] for r in sample],
        [p.gated(gate) for p in predictions],
    )

    def scored(with_threshold: float | None, with_gate: float | None, snap: bool) -> dict:
        return score(
            [
                judge(
                    p,
                    answerable=r["answerable"],
                    golds=[r["answer"]],
                    gold_passage=r["citations"][0] if r["answerable"] else None,
                    threshold=with_threshold,
                    gate=with_gate,
                    snap=snap,
                )
                for p, r in zip(predictions, sample)
            ]
        )

    return {
        **scored(threshold, gate, snap=True),
        "refusal_threshold": round(threshold, 4),
        "refusal_gate": gate,
        "plain": scored(None, None, snap=False),
    }

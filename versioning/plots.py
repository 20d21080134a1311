"""The DVC pipeline's plots as rows DVC can draw (a JSON list of flat objects per plot), built
from the metrics the evaluate stage writes and the loss curve a fine-tuning run saves."""

from typing import Any

QA_METRICS = ("f1", "exact_match", "citation_accuracy", "refusal_accuracy")


def ndcg_rows(retrieval: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One row per search mode: ``{"mode", "ndcg"}`` from ``rag eval retrieval --json``."""
    rows = []
    for mode, metrics in retrieval.items():
        ndcg = [value for name, value in metrics.items() if name.startswith("ndcg@")]
        rows.append({"mode": mode, "ndcg": ndcg[0] if ndcg else None})
    return rows


def qa_rows(results: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """One row per model (``{"model", "f1", "exact_match", "citation_accuracy", "refusal_accuracy"}``,
    accuracies as percentages like F1) from ``rag eval qa --json`` outputs keyed by a label."""
    rows = []
    for model, metrics in results.items():
        row: dict[str, Any] = {"model": model}
        for name in QA_METRICS:
            value = metrics.get(name)
            row[name] = round(100 * value, 2) if value is not None and name.endswith("accuracy") else value
        rows.append(row)
    return rows


def loss_rows(losses: list[float]) -> list[dict[str, Any]]:
    """``{"step", "loss"}`` per optimizer step, from the ``losses`` of a run's ``finetune.json``."""
    return [{"step": step, "loss": loss} for step, loss in enumerate(losses, start=1)]

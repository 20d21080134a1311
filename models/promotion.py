"""The promotion gate: a candidate replaces the served model only if its F1 is higher and its
refusal accuracy is at most ``REFUSAL_SLACK`` lower, on the served path: ``rag eval qa
--context retrieved`` figures when both models were evaluated on the same questions (the
serving pipeline), else the dev metrics ``rag finetune`` measured through the same answer
function. ``--force`` overrides the gate, and the override is recorded in ``model_events``."""

from dataclasses import dataclass, field

import psycopg

from core.errors import InputError
from models.registry import ModelRecord, get_model, serving_model, set_status

REFUSAL_SLACK = 0.02


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reasons: list[str] = field(default_factory=list)  # why it failed, empty when it passed

    def note(self, forced: bool) -> str:
        if self.passed:
            return "passed the gate"
        return ("forced past the gate: " if forced else "refused: ") + "; ".join(self.reasons)


def compared_figures(candidate: dict, current: dict) -> tuple[str, dict, dict]:
    """Which figures the gate compares: the retrieved-context evaluation both models share, else
    the dev metrics; named, with each model's figures."""
    mine, theirs = (m.get("eval", {}).get("retrieved") for m in (candidate, current))
    if mine and theirs and mine["questions"] == theirs["questions"]:
        return "eval qa (retrieved)", mine, theirs
    return "dev", candidate, current


def gate(candidate: dict, current: dict) -> GateDecision:
    """Compare ``f1`` and ``refusal_accuracy`` (``compared_figures``); a current model without
    recorded metrics sets no bar."""
    _, candidate, current = compared_figures(candidate, current)
    if "f1" not in current:
        return GateDecision(True)
    for name in ("f1", "refusal_accuracy"):
        if name not in candidate:
            return GateDecision(
                False, [f"the candidate has no dev {name}; fine-tune it with `rag finetune` to record one"]
            )
    reasons = []
    if candidate["f1"] <= current["f1"]:
        reasons.append(f"dev F1 {candidate['f1']} does not beat {current['f1']}")
    if candidate["refusal_accuracy"] < current.get("refusal_accuracy", 0.0) - REFUSAL_SLACK:
        reasons.append(
            f"refusal accuracy {candidate['refusal_accuracy']} is more than {REFUSAL_SLACK}"
            f" below {current['refusal_accuracy']}"
        )
    return GateDecision(not reasons, reasons)


@dataclass(frozen=True)
class Promotion:
    candidate: ModelRecord
    current: ModelRecord
    decision: GateDecision
    promoted: bool

    def comparison(self) -> dict:
        keys = ("f1", "exact_match", "citation_accuracy", "refusal_accuracy")
        figures, candidate, current = compared_figures(self.candidate.metrics, self.current.metrics)
        return {
            "figures": figures,
            "candidate": {"id": self.candidate.id, **{k: candidate.get(k) for k in keys}},
            "current": {"id": self.current.id, "status": self.current.status, **{k: current.get(k) for k in keys}},
            "passed": self.decision.passed,
            "reasons": self.decision.reasons,
            "promoted": self.promoted,
        }


def promote(conn: psycopg.Connection, model_id: int, *, force: bool = False) -> Promotion:
    """Promote ``model_id`` if it passes the gate against the served model (or ``force``)."""
    candidate = get_model(conn, model_id)
    if candidate.status == "promoted":
        raise InputError(f"model {model_id} is already promoted; `rag models list` shows the candidates.")
    current = serving_model(conn)
    decision = gate(candidate.metrics, current.metrics)
    promoted = decision.passed or force
    if promoted:
        set_status(conn, model_id, "promoted", note=decision.note(force))
        conn.commit()
    return Promotion(candidate, current, decision, promoted)

"""Answering one QA question with a causal LM and the serving template, for fine-tuning's dev
metrics and ``rag eval qa``.

Decoding is greedy under the same citation constraint as serving (``models.cite_constraint``),
so an answer that is not the refusal cites a passage. Refusal is decided as serving decides it:
first the relevance gate (the best question-passage cosine below ``settings.refusal_threshold``
refuses before the model runs), then the model. Two cheap additions, each reported beside the
plain result:
- a refusal decision from the model's own probability of the refusal sentence (mean token
  log-probability, computed in the same forward pass as the prompt), compared with a
  threshold calibrated on the dev split (``calibrate_refusal``);
- span snapping: an answer that is not a span of the passages is replaced by the passage span
  with the best token F1 against it, so the output is always copied from the evidence; and
  an answer found in exactly one passage, which it does not cite, cites that passage instead."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.cite_constraint import CitationConstraint
from models.decoding import Decoder, Session
from models.embedder import Embedder
from models.generator import END_OF_TURN, end_of_turn_ids
from models.prompt import REFUSAL, parse_citations, render_prompt
from models.qa_metrics import f1_score, normalize_answer

_MARKERS = re.compile(r"\s*\[[^\]]*\]")


@dataclass(frozen=True)
class QAPrediction:
    text: str  # what the model wrote, markers included (an answer even when greedy refused)
    answer: str  # the answer without markers
    snapped: str  # the answer copied from the passages (``snap_to_span``)
    cited: list[int]
    snapped_cited: list[int]  # the citations pointed at the passage the snapped answer is from (``cite_source``)
    greedy_refused: bool  # plain greedy decoding wrote the refusal
    refusal_score: float  # mean log-probability of the refusal sentence
    relevance: float | None = None  # best dense cosine between the question and a passage

    def gated(self, gate: float | None) -> bool:
        """Whether serving's relevance gate refuses before the model runs (``refusal_threshold``)."""
        return gate is not None and self.relevance is not None and self.relevance < gate

    def refused(self, threshold: float | None, gate: float | None = None) -> bool:
        """Refuse at the relevance gate, else by the calibrated threshold, or as greedy
        decoding did when there is none."""
        if self.gated(gate):
            return True
        return self.greedy_refused if threshold is None else self.refusal_score >= threshold


def snap_to_span(answer: str, passages: list[str], *, slack: int = 3) -> str:
    """``answer`` if it is a span of a passage (after SQuAD normalisation), else the passage
    span (up to ``slack`` words longer) with the best token F1 against it."""
    wanted = normalize_answer(answer)
    if not wanted or any(wanted in normalize_answer(p) for p in passages):
        return answer
    best, best_f1 = answer, 0.0
    longest = len(answer.split()) + slack
    for passage in passages:
        words = passage.split()
        for size in range(1, longest + 1):
            for i in range(len(words) - size + 1):
                candidate = " ".join(words[i : i + size]).strip(".,;:!?\"'()")
                score = f1_score(candidate, answer)
                if score > best_f1:
                    best, best_f1 = candidate, score
    return best


def cite_source(answer: str, passages: list[str], cited: list[int]) -> list[int]:
    """``cited``, unless no cited passage holds ``answer`` (after SQuAD normalisation) and
    exactly one passage does: then that one, the passage the answer was copied from."""
    wanted = f" {normalize_answer(answer)} "
    holding = [n for n, passage in enumerate(passages, 1) if wanted.strip() and wanted in f" {normalize_answer(passage)} "]
    if len(holding) == 1 and not set(cited) & set(holding):
        return holding
    return cited


def calibrate_refusal(scores: list[float], should_refuse: list[bool], gated: list[bool] | None = None) -> float:
    """The threshold on ``refusal_score`` that refuses exactly when it should most often
    (midpoint between neighbouring scores, so it generalises a little); ``gated`` questions
    are refused before the model whatever the threshold."""
    gated = gated or [False] * len(scores)
    ranked = sorted(set(scores))
    candidates = [ranked[0] - 1.0] + [(a + b) / 2 for a, b in zip(ranked, ranked[1:])] + [ranked[-1] + 1.0]

    def accuracy(threshold: float) -> int:
        return sum((g or s >= threshold) == r for s, r, g in zip(scores, should_refuse, gated))

    return max(candidates, key=accuracy)


def dense_relevance(embedder: Embedder, window_words: int = 30) -> Callable[[str, list[str]], float]:
    """The relevance gate's signal for given passages: the best cosine between the question's
    embedding and that of a ``window_words``-word window of a passage. A passage is as relevant
    as its best part: one embedding of a whole paragraph dilutes the sentence that answers
    (on the dev split's oracle questions, whole paragraphs kept 88% of the answerable ones at
    serving's 0.35, 30-word windows 97%, both refusing every unanswerable one)."""

    def relevance(question: str, passages: list[str]) -> float:
        """-1 (the least a cosine can be) without passages, as serving refuses without hits."""
        windows = []
        for passage in passages:
            words = passage.split()
            windows += [" ".join(words[i : i + window_words]) for i in range(0, max(1, len(words)), window_words)]
        if not windows:
            return -1.0
        vectors = embedder.embed([question, *windows])
        return float((vectors[1:] @ vectors[0]).max())

    return relevance


class QAAnswerer:
    """Answers with the serving template; ``relevance`` (``dense_relevance``) adds the
    signal of serving's relevance gate to each prediction."""

    def __init__(
        self, model: Any, tokenizer: Any, *, relevance: Callable[[str, list[str]], float] | None = None,
        max_new_tokens: int = 32,
    ):
        self.model, self.tokenizer, self.max_new_tokens = model, tokenizer, max_new_tokens
        self._relevance = relevance
        self._decoder = Decoder(model)
        self._refusal_ids = tokenizer(REFUSAL + END_OF_TURN, add_special_tokens=False).input_ids
        self._stop = end_of_turn_ids(tokenizer)
        self._citations = CitationConstraint(tokenizer, self._stop)

    def answer(self, question: str, passages: list[str]) -> QAPrediction:
        import torch

        prompt_ids = self.tokenizer(render_prompt(question, passages, self.tokenizer), add_special_tokens=False).input_ids
        capacity = len(prompt_ids) + max(len(self._refusal_ids), self.max_new_tokens)
        session = self._decoder.start(prompt_ids + self._refusal_ids, capacity, all_logits=True)
        start = len(prompt_ids) - 1
        log_probs = torch.log_softmax(session.logits[start : start + len(self._refusal_ids)].float(), dim=-1)
        refusal_score = float(log_probs[torch.arange(len(self._refusal_ids)), self._refusal_ids].mean())
        first_logits = session.logits[start]
        session.crop(len(prompt_ids))
        text = self._greedy(session, first_logits, len(passages), banned=None)
        greedy_refused = text.strip().startswith(REFUSAL[:20])
        if greedy_refused:
            session.crop(len(prompt_ids))
            text = self._greedy(session, first_logits, len(passages), banned=self._refusal_ids[0])
        answer = _MARKERS.sub("", text).strip()
        cited = parse_citations(text, len(passages)).valid
        relevance = self._relevance(question, passages) if self._relevance else None
        snapped = snap_to_span(answer, passages)
        return QAPrediction(
            text, answer, snapped, cited, cite_source(snapped, passages, cited), greedy_refused, refusal_score, relevance
        )

    def _greedy(self, session: Session, first_logits: Any, n_passages: int, *, banned: int | None) -> str:
        """Greedy decoding under the citation constraint (``models.cite_constraint``)."""
        logits, ids = first_logits.clone(), []
        if banned is not None:
            logits[banned] = float("-inf")
        for _ in range(self.max_new_tokens):
            token = self._citations.next_token(ids, logits, n_passages=n_passages, max_new_tokens=self.max_new_tokens)
            if token in self._stop:
                break
            ids.append(token)
            logits = session.step(token)
        return self.tokenizer.decode(ids, skip_special_tokens=True)

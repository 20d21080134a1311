"""The one answer function: a question and its numbered passages in, a grounded answer out,
under an answer policy (``models.policy``). ``POST /generate`` and ``rag ask`` (through
``answering.pipeline``), ``rag eval qa`` in both contexts, fine-tuning's dev metrics and
``rag replay`` all answer through ``answer_stream``; nothing else decides an answer.

In order:
1. the relevance gate: the best cosine between the question and a ``gate_window_words``-word
   window of a passage (a passage is as relevant as its best part: one embedding of a whole
   paragraph dilutes the sentence that answers); below ``gate_threshold`` the refusal is
   returned without running the model; the same pass cuts each passage to its ``focus_words``
   around its best window (the model was trained on passages of that size; a citation still
   names the whole passage);
2. the prompt (``models.prompt``) and the generator under the policy: the model's own refusal
   (its refusal score against the calibrated ``refusal_threshold``), else the answer, copied
   from one passage (``decoding="copy"``) or free, with its citation;
3. the refusal test (``models.prompt.is_refusal``): a refusal is shown as exactly ``REFUSAL``
   and cites nothing; otherwise the valid ``[n]`` markers are the citations."""

from collections.abc import Iterator
from dataclasses import dataclass

from models.embedder import Embedder
from models.generator import Generation, Generator, TokenStream
from models.policy import AnswerPolicy
from models.prompt import REFUSAL, drop_invalid_markers, is_refusal, parse_citations, render_prompt


@dataclass(frozen=True)
class Answer:
    text: str  # as shown: the answer with its valid markers, or exactly REFUSAL
    refused: bool
    refused_by: str | None  # "gate" (before the model) or "model"; None when answered
    cited: list[int]  # valid passage numbers, in order of use
    invalid_markers: list[str]  # markers naming passages that were not given, dropped from text
    relevance: float  # the gate's signal
    refusal_score: float | None  # the model's, None when the gate refused
    prompt: str | None  # None when the gate refused
    prompt_tokens: int
    completion_tokens: int

    def signals(self) -> dict:
        """What decided the refusal, as logged."""
        return {"relevance": self.relevance, "refusal_score": self.refusal_score, "refused_by": self.refused_by}


@dataclass(frozen=True)
class Focus:
    relevance: float  # the gate's signal: the best window's cosine, -1 without passages
    passages: list[str]  # each passage cut to its ``focus_words`` around its best window


def focus(embedder: Embedder, question: str, passages: list[str], policy: AnswerPolicy) -> Focus:
    """One embedding pass over every ``gate_window_words``-word window of the passages gives the
    gate's signal and, for each passage longer than ``focus_words``, the part the model reads:
    ``focus_words`` words centred on its window most similar to the question."""
    size = policy.gate_window_words
    words = [passage.split() for passage in passages]
    windows = [(n, i) for n, w in enumerate(words) for i in range(0, len(w), size)]
    if not windows:
        return Focus(-1.0, list(passages))
    vectors = embedder.embed([question, *(" ".join(words[n][i : i + size]) for n, i in windows)])
    scores = vectors[1:] @ vectors[0]
    best: dict[int, tuple[float, int]] = {}
    for (n, i), score in zip(windows, scores):
        if n not in best or score > best[n][0]:
            best[n] = (float(score), i)
    focused = []
    for n, (passage, w) in enumerate(zip(passages, words)):
        if not policy.focus_words or len(w) <= policy.focus_words:
            focused.append(passage)
            continue
        start = min(max(0, best[n][1] + size // 2 - policy.focus_words // 2), len(w) - policy.focus_words)
        focused.append(" ".join(w[start : start + policy.focus_words]))
    return Focus(float(scores.max()), focused)


class AnswerStream:
    """The answer's text pieces as they are decoded; ``result()`` once they are drained, or
    after ``close()`` or a failure, with what was decoded so far. The model runs on the first
    piece asked for."""

    def __init__(
        self,
        question: str,
        passages: list[str],
        *,
        generator: Generator,
        embedder: Embedder,
        policy: AnswerPolicy,
        max_new_tokens: int | None = None,
    ):
        self._generator, self._policy, self._budget = generator, policy, max_new_tokens
        focused = focus(embedder, question, passages, policy)
        self._relevance, self._passages = focused.relevance, focused.passages
        self.gated = self._relevance < policy.gate_threshold
        self.prompt = None if self.gated else render_prompt(question, self._passages, generator.tokenizer)
        self._tokens: TokenStream | None = None

    def __iter__(self) -> Iterator[str]:
        if self.gated:
            yield REFUSAL
            return
        self._tokens = self._generator.generate(self.prompt, self._passages, self._policy, self._budget)
        yield from self._tokens

    def close(self) -> None:
        if self._tokens is not None:
            self._tokens.close()

    def result(self) -> Answer:
        if self.gated:
            return Answer(REFUSAL, True, "gate", [], [], self._relevance, None, None, 0, 0)
        generation = self._tokens.result() if self._tokens is not None else Generation("", 0, 0)
        text = generation.text.strip()
        common = dict(
            relevance=self._relevance,
            refusal_score=generation.refusal_score,
            prompt=self.prompt,
            prompt_tokens=generation.prompt_tokens,
            completion_tokens=generation.completion_tokens,
        )
        if is_refusal(text):
            return Answer(REFUSAL, True, "model", [], [], **common)
        parsed = parse_citations(text, len(self._passages))
        return Answer(
            drop_invalid_markers(text, len(self._passages)), False, None, parsed.valid, parsed.invalid, **common
        )


def answer_stream(
    question: str,
    passages: list[str],
    *,
    generator: Generator,
    embedder: Embedder,
    policy: AnswerPolicy,
    max_new_tokens: int | None = None,
) -> AnswerStream:
    """Answer ``question`` from ``passages`` (see the module docstring)."""
    return AnswerStream(
        question, passages, generator=generator, embedder=embedder, policy=policy, max_new_tokens=max_new_tokens
    )


def answer(
    question: str, passages: list[str], *, generator: Generator, embedder: Embedder, policy: AnswerPolicy
) -> Answer:
    """``answer_stream`` drained."""
    stream = answer_stream(question, passages, generator=generator, embedder=embedder, policy=policy)
    for _ in stream:
        pass
    return stream.result()

"""Copy decoding on hand-made passages with the real SmolLM2 tokenizer: only spans of the
passages come out, the citation names the passage the span is from, the model may still
refuse, and streaming is unchanged (on a scripted model)."""

import pytest

from models.cite_constraint import MarkerBook
from models.copy_constraint import CopyConstraint, word_start_tokens
from models.generator import END_OF_TURN, HFGenerator, end_of_turn_ids
from models.policy import AnswerPolicy
from models.prompt import REFUSAL, parse_citations, render_prompt, strip_markers
from tests.stand_ins import BigramModel
from tests.stand_ins import preferring as _logits
from tests.stand_ins import token_ids as _ids

PASSAGES = ["Lyon is a city in France.", "Paris is the capital of France, on the Seine."]


@pytest.fixture(scope="module")
def word_starts(base_tokenizer):
    return word_start_tokens(base_tokenizer)


def _decode(tokenizer, word_starts, preferred: list[list[str]] | list[str], passages=PASSAGES, budget: int = 16) -> str:
    """Copy decoding with the preferences ``preferred[i]`` at step i (the last ones after)."""
    steps = preferred if isinstance(preferred[0], list) else [preferred]
    constraint = CopyConstraint(
        tokenizer, MarkerBook(tokenizer), word_starts, passages, end_of_turn_ids(tokenizer), max_new_tokens=budget
    )
    ids: list[int] = []
    while len(ids) < budget:
        token = constraint.next_token(ids, _logits(tokenizer, steps[min(len(ids), len(steps) - 1)]))
        if token is None:
            break
        ids.append(token)
    return tokenizer.decode(ids, skip_special_tokens=True)


def _is_span(text: str, passages: list[str]) -> bool:
    return any(strip_markers(text) in p for p in passages)


def test_the_answer_is_a_span_of_the_passage_it_cites(base_tokenizer, word_starts):
    text = _decode(base_tokenizer, word_starts, [["Paris"], ["Ġis"], ["Ġthe"], ["Ġcapital"], [END_OF_TURN, "Ġ["]])
    assert text == "Paris is the capital [2]"
    assert parse_citations(text, 2).valid == [2] and _is_span(text, PASSAGES[1:])


def test_tokens_that_continue_no_span_are_never_chosen(base_tokenizer, word_starts):
    # The model prefers words that are in no passage; only the passages' words come out.
    text = _decode(base_tokenizer, word_starts, [["Berlin", "Paris"], ["Ġwas", "Ġis", "Ġthe"], [END_OF_TURN]])
    assert text == "Paris is [2]"


def test_a_span_in_several_passages_cites_one_that_holds_it(base_tokenizer, word_starts):
    text = _decode(base_tokenizer, word_starts, [["France"], [END_OF_TURN, "1", "2"]])
    assert text == "France [1]"
    text = _decode(base_tokenizer, word_starts, [["France"], [END_OF_TURN, "2", "1"]])
    assert text == "France [2]"


def test_the_answer_ends_only_at_a_word_boundary(base_tokenizer, word_starts):
    # "Seine" is two tokens here or one; either way the answer may not stop inside the word.
    text = _decode(base_tokenizer, word_starts, [["Se", "Seine"], [END_OF_TURN, "ine", "Ġ["]])
    assert strip_markers(text) == "Seine" and text.endswith("[2]")


def test_the_budget_leaves_room_for_the_marker(base_tokenizer, word_starts):
    text = _decode(base_tokenizer, word_starts, [["Paris"], ["Ġis"], ["Ġthe"], ["Ġcapital"], ["Ġof"]], budget=6)
    assert parse_citations(text, 2).valid == [2] and _is_span(text, PASSAGES) and len(_ids(base_tokenizer, text)) <= 6


def test_no_passages_gives_an_empty_answer(base_tokenizer, word_starts):
    assert _decode(base_tokenizer, word_starts, ["Paris"], passages=[]) == ""


def _scripted(tokenizer, prompt: str, answer: str, *, refuse: bool = False) -> BigramModel:
    """Answers ``answer`` after the prompt (or starts the refusal when ``refuse``), then ends;
    in a marker prefers passage 2."""
    answer_ids = _ids(tokenizer, REFUSAL if refuse else answer)
    follow = {_ids(tokenizer, prompt)[-1]: answer_ids[:1]}
    follow |= {a: [b] for a, b in zip(answer_ids, answer_ids[1:])}
    return BigramModel(
        len(tokenizer), follow=follow, default=[tokenizer.convert_tokens_to_ids(t) for t in (END_OF_TURN, "2")]
    )


def test_copy_decoding_streams_a_cited_span(base_tokenizer):
    prompt = render_prompt("What is the capital of France?", PASSAGES, base_tokenizer)
    generator = HFGenerator(_scripted(base_tokenizer, prompt, "Paris"), base_tokenizer)
    pieces = list(generator.generate(prompt, PASSAGES, AnswerPolicy(max_new_tokens=8)))
    assert pieces == ["Paris", " [", "2", "]"]


def test_the_model_refuses_at_its_threshold_and_answers_below_it(base_tokenizer):
    prompt = render_prompt("What is the capital of Mars?", PASSAGES, base_tokenizer)
    generator = HFGenerator(_scripted(base_tokenizer, prompt, "Paris", refuse=True), base_tokenizer)
    score = generator.generate(prompt, PASSAGES, AnswerPolicy()).refusal_score
    refused = generator.generate(prompt, PASSAGES, AnswerPolicy(refusal_threshold=score - 0.5))
    assert "".join(refused) == REFUSAL and refused.refusal_score == score
    answered = generator.generate(prompt, PASSAGES, AnswerPolicy(refusal_threshold=score + 0.5))
    text = "".join(answered)
    assert text != REFUSAL and _is_span(text, PASSAGES) and parse_citations(text, 2).valid

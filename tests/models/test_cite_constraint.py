"""Free decoding's citation constraint on chosen logits with the real SmolLM2 tokenizer, and
the generator that uses it (on a scripted model)."""

import pytest

from models.cite_constraint import CitationConstraint, MarkerBook, passages_holding
from models.generator import END_OF_TURN, HFGenerator, end_of_turn_ids
from models.policy import AnswerPolicy
from models.prompt import REFUSAL, parse_citations, render_prompt
from tests.stand_ins import BigramModel
from tests.stand_ins import preferring as _logits
from tests.stand_ins import token_ids as _ids

PASSAGES = ["Paris is the capital of France.", "Lyon is a city in France."]


def _decode(
    tokenizer,
    answer: str,
    preferred: list[str],
    n_passages: int | None,
    max_new_tokens: int = 16,
    passages: list[str] | None = None,
) -> str:
    """Greedy decoding on from ``answer`` with the same preferences at every step, over
    ``passages`` (default: ``n_passages`` passages that hold no answer; None: not citing)."""
    ends = end_of_turn_ids(tokenizer)
    passages = passages or [f"Passage number {n}." for n in range(1, (n_passages or 0) + 1)]
    constraint = CitationConstraint(
        MarkerBook(tokenizer),
        tokenizer,
        ends,
        passages=passages,
        force=n_passages is not None,
        max_new_tokens=max_new_tokens,
    )
    ids, logits = _ids(tokenizer, answer), _logits(tokenizer, preferred)
    while len(ids) < max_new_tokens:
        token = constraint.next_token(ids, logits)
        if token in ends:
            break
        ids.append(token)
    return tokenizer.decode(ids, skip_special_tokens=True)


def test_the_marker_tokens_are_those_of_a_training_target(base_tokenizer):
    tokens = base_tokenizer.convert_ids_to_tokens(_ids(base_tokenizer, "Paris [12]"))
    assert tokens == ["Paris", "Ġ[", "1", "2", "]"]


def test_an_uncited_end_opens_a_marker_and_the_best_valid_number_closes_it(base_tokenizer):
    text = _decode(base_tokenizer, "Paris", [END_OF_TURN, "7", "2", "1"], n_passages=3)
    assert text == "Paris [2]" and parse_citations(text, 3).valid == [2]


def test_a_number_of_several_digits_stays_within_the_passages(base_tokenizer):
    assert _decode(base_tokenizer, "Paris", [END_OF_TURN, "2", "7"], n_passages=30) == "Paris [22]"
    assert _decode(base_tokenizer, "Paris", [END_OF_TURN, "2", "7"], n_passages=12) == "Paris [2]"
    assert _decode(base_tokenizer, "Paris [1", [END_OF_TURN, "5", "3", "2"], n_passages=12) == "Paris [12]"


def test_an_answer_running_out_of_tokens_spends_the_last_ones_on_a_marker(base_tokenizer):
    assert _decode(base_tokenizer, "Paris", ["Ġis", "2"], n_passages=2, max_new_tokens=6) == "Paris is is [2]"
    assert _decode(base_tokenizer, "Paris", ["Ġis", "2"], n_passages=12, max_new_tokens=6) == "Paris is [2] is"
    assert _decode(base_tokenizer, "Paris", ["Ġis", "2"], n_passages=None, max_new_tokens=6) == "Paris is is is is is"


def test_a_marker_the_model_opens_takes_only_valid_numbers(base_tokenizer):
    assert _decode(base_tokenizer, "Paris [", [END_OF_TURN, "9", "0", "3", "1"], n_passages=2) == "Paris [1]"


@pytest.mark.parametrize("answer", ["", "The passages do", REFUSAL])
def test_a_refusal_or_its_start_may_end_uncited(base_tokenizer, answer):
    assert _decode(base_tokenizer, answer, [END_OF_TURN, "1"], n_passages=2) == answer


def test_an_answer_citing_a_passage_may_end(base_tokenizer):
    assert _decode(base_tokenizer, "Paris [2]", [END_OF_TURN, "1"], n_passages=2) == "Paris [2]"


def test_an_answer_citing_only_a_missing_passage_is_made_to_cite(base_tokenizer):
    assert _decode(base_tokenizer, "Paris [7]", [END_OF_TURN, "1"], n_passages=2) == "Paris [7] [1]"


def test_an_answer_that_is_passage_text_cites_a_passage_holding_it(base_tokenizer):
    passages = ["Lyon is a city in France.", "Paris is the capital of France.", "PARIS,  the capital."]
    assert _decode(base_tokenizer, "Lyon", [END_OF_TURN, "2", "1"], 3, passages=passages) == "Lyon [1]"
    assert _decode(base_tokenizer, "Paris", [END_OF_TURN, "3", "2"], 3, passages=passages) == "Paris [3]"
    assert _decode(base_tokenizer, "Paris", [END_OF_TURN, "1", "2"], 3, passages=passages) == "Paris [2]"
    assert _decode(base_tokenizer, "Marseille", [END_OF_TURN, "3"], 3, passages=passages) == "Marseille [3]"
    assert _decode(base_tokenizer, "Lyon [", [END_OF_TURN, "3"], 3, passages=passages) == "Lyon [1]"


def test_passages_holding_ignores_case_spacing_and_edge_punctuation():
    passages = ["Paris is the capital of France.", "Lyon, a city.", "Saint  Bernadette Soubirous"]
    assert passages_holding("saint bernadette soubirous.", passages) == (3,)
    assert passages_holding("Lyon", passages) == (2,) and passages_holding("capital", passages) == (1,)
    assert passages_holding("Marseille", passages) == () and passages_holding(" . ", passages) == ()


def test_without_passages_decoding_is_plain_greedy(base_tokenizer):
    assert _decode(base_tokenizer, "Paris", [END_OF_TURN, "1"], n_passages=None) == "Paris"


def _scripted(tokenizer, prompt: str) -> BigramModel:
    """Answers ``Paris`` then would end at once; in a marker prefers passage 2."""
    return BigramModel(
        len(tokenizer),
        follow={_ids(tokenizer, prompt)[-1]: _ids(tokenizer, "Paris")},
        default=[tokenizer.convert_tokens_to_ids(t) for t in (END_OF_TURN, "7", "2", "1")],
    )


def test_free_decoding_cites_unless_the_policy_says_not_to(base_tokenizer):
    prompt = render_prompt("What is the capital of France?", PASSAGES, base_tokenizer)
    generator = HFGenerator(_scripted(base_tokenizer, prompt), base_tokenizer)
    free = AnswerPolicy(decoding="free", max_new_tokens=8)
    assert "".join(generator.generate(prompt, PASSAGES, free)) == "Paris [1]"  # passage 1 holds it
    uncited = AnswerPolicy(decoding="free", force_citations=False, max_new_tokens=8)
    assert "".join(generator.generate(prompt, PASSAGES, uncited)) == "Paris"

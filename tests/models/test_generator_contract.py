"""The shared suite of the ``Generator`` Protocol (``models.generator``): what the answer
function (``answering.answer``) and the service rely on, run on the stand-in
(``ScriptedGenerator``) and on the real generator (``HFGenerator`` over the SmolLM2 base, slow).

Not here, because a scripted stand-in cannot keep them: which tokens the model decodes (copy
decoding's span of a passage, free decoding's citation); those are checked on the real model in
test_copy_constraint.py, test_cite_constraint.py and test_generator.py."""

import pytest

from models.generator import Generation, TokenStream
from models.policy import AnswerPolicy
from models.prompt import REFUSAL, is_refusal, render_prompt
from tests.stand_ins import ScriptedGenerator

QUESTION = "Where did Marie Curie study?"
PASSAGES = ["Marie Curie studied physics in Paris.", "Lyon is a city in France."]


def _drained(stream: TokenStream) -> tuple[list[str], Generation]:
    pieces = list(stream)
    return pieces, stream.result()


class GeneratorContract:
    """Every generator passes these. A subclass gives the ``generator`` fixture."""

    @pytest.fixture
    def generator(self):
        raise NotImplementedError

    @pytest.fixture
    def prompt(self, generator) -> str:
        return render_prompt(QUESTION, PASSAGES, generator.tokenizer)

    def test_its_tokenizer_renders_the_prompt(self, prompt):
        assert isinstance(prompt, str)
        assert QUESTION in prompt and all(passage in prompt for passage in PASSAGES)

    @pytest.mark.parametrize("decoding", ["copy", "free"])
    def test_a_stream_of_pieces_that_add_up_to_the_result(self, generator, prompt, decoding):
        policy = AnswerPolicy(decoding=decoding, max_new_tokens=12)
        stream = generator.generate(prompt, PASSAGES, policy)
        assert isinstance(stream, TokenStream)
        pieces, result = _drained(stream)
        assert pieces and all(isinstance(piece, str) and piece for piece in pieces)
        assert "".join(pieces) == result.text == stream.text
        assert 0 < result.completion_tokens <= 12 and result.prompt_tokens > 0
        assert isinstance(result.refusal_score, float) and result.refusal_score <= 0  # a mean log-probability
        assert _drained(generator.generate(prompt, PASSAGES, policy))[1] == result  # greedy: the same again

    def test_a_longer_prompt_counts_more_prompt_tokens(self, generator, prompt):
        longer = render_prompt(QUESTION, [*PASSAGES, "Warsaw is the capital of Poland."], generator.tokenizer)
        policy = AnswerPolicy(max_new_tokens=2)
        short, long = (generator.generate(p, PASSAGES, policy).prompt_tokens for p in (prompt, longer))
        assert 0 < short < long

    def test_max_new_tokens_overrides_the_policy_budget(self, generator, prompt):
        def result(budget, max_new_tokens=None):
            policy = AnswerPolicy(max_new_tokens=budget)
            return _drained(generator.generate(prompt, PASSAGES, policy, max_new_tokens))[1]

        assert result(4).completion_tokens <= 4
        assert result(64, max_new_tokens=4) == result(4)
        assert result(2, max_new_tokens=12) == result(12)

    def test_the_refusal_when_the_score_reaches_the_threshold(self, generator, prompt):
        def result(threshold):
            policy = AnswerPolicy(refusal_threshold=threshold, max_new_tokens=12)
            return _drained(generator.generate(prompt, PASSAGES, policy))[1]

        score = result(None).refusal_score
        assert not is_refusal(result(None).text)  # no threshold: the score never decides
        for reached in (score, score - 1):
            refused = result(reached)
            assert (refused.text, refused.refusal_score) == (REFUSAL, score)
        answered = result(score + 1)
        assert not is_refusal(answered.text) and answered.refusal_score == score

    def test_closed_early_it_keeps_what_was_produced(self, generator, prompt):
        stream = generator.generate(prompt, PASSAGES, AnswerPolicy(max_new_tokens=12))
        first = next(iter(stream))
        stream.close()
        result = stream.result()
        assert result.text == first and 1 <= result.completion_tokens <= 12 and result.prompt_tokens > 0


class TestScriptedGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self):
        return ScriptedGenerator("Marie Curie studied physics in Paris [1]")  # longer than the budgets above


@pytest.mark.slow
class TestHFGenerator(GeneratorContract):
    @pytest.fixture
    def generator(self, base_generator):
        return base_generator

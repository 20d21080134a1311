"""The one answer function on stand-ins: the gate, the focus on each passage's best window, the
model's refusal, the one refusal test, and citations."""

from answering.answer import answer, focus
from models.policy import AnswerPolicy
from models.prompt import REFUSAL, is_refusal
from tests.stand_ins import HashingEmbedder, ScriptedGenerator

FILLER = " ".join(f"filler{i}" for i in range(100))
PASSAGES = [f"{FILLER} Paris is the capital of France. {FILLER}", "Lyon is a city in France."]
QUESTION = "What is the capital of France?"


def test_focus_keeps_the_window_most_like_the_question():
    result = focus(HashingEmbedder(), QUESTION, PASSAGES, AnswerPolicy(focus_words=20))
    assert "Paris is the capital of France." in result.passages[0] and len(result.passages[0].split()) == 20
    assert result.passages[1] == PASSAGES[1]  # shorter than the focus: whole
    assert focus(HashingEmbedder(), QUESTION, PASSAGES, AnswerPolicy(focus_words=None)).passages == PASSAGES
    assert focus(HashingEmbedder(), QUESTION, [], AnswerPolicy()).relevance == -1.0


def test_the_gate_refuses_before_the_model():
    generator = ScriptedGenerator("Paris [1]")
    result = answer(
        "Who won the cup?", PASSAGES, generator=generator, embedder=HashingEmbedder(), policy=AnswerPolicy()
    )
    assert (result.text, result.refused, result.refused_by, result.prompt) == (REFUSAL, True, "gate", None)
    assert generator.prompts == []


def test_an_answer_cites_and_the_model_sees_the_focused_passages():
    generator = ScriptedGenerator("Paris [1] [7]")
    policy = AnswerPolicy(gate_threshold=0.2, focus_words=20)  # the sentence shares its window with filler
    result = answer(QUESTION, PASSAGES, generator=generator, embedder=HashingEmbedder(), policy=policy)
    assert (result.text, result.cited, result.invalid_markers, result.refused) == ("Paris [1]", [1], ["[7]"], False)
    assert len(generator.passages[0][0].split()) == 20 and result.refusal_score == -5.0


def test_the_model_refuses_at_its_threshold():
    generator = ScriptedGenerator("Paris [1]", refusal_score=-0.2)
    result = answer(
        QUESTION,
        PASSAGES,
        generator=generator,
        embedder=HashingEmbedder(),
        policy=AnswerPolicy(gate_threshold=0.2, refusal_threshold=-0.5),
    )
    assert (result.text, result.refused, result.refused_by, result.cited) == (REFUSAL, True, "model", [])


def test_one_refusal_test():
    assert is_refusal(REFUSAL) and is_refusal("the passages do not mention Mars [2]")
    assert not is_refusal("Paris [1]") and not is_refusal("The passages say Paris [1]")

"""The dev metrics' choices: the refusal threshold and the decoding, through the answer function."""

from evaluation.dev_metrics import calibrate_refusal, choose_decoding
from models.policy import AnswerPolicy
from tests.stand_ins import HashingEmbedder, ScriptedGenerator

RECORDS = [
    {
        "question": "What is the capital of France?",
        "passages": [{"text": "Paris is the capital of France.", "source": "a"}],
        "answer": "Paris",
        "answerable": True,
    }
] * 3


class ByDecoding(ScriptedGenerator):
    """Answers right only under free decoding."""

    def generate(self, prompt, passages, policy, max_new_tokens=None):
        self.reply = "Paris [1]" if policy.decoding == "free" else "France [1]"
        return super().generate(prompt, passages, policy, max_new_tokens)


def test_the_decoding_with_the_higher_dev_f1_is_chosen():
    metrics, policy, by_decoding = choose_decoding(
        ByDecoding(), HashingEmbedder(), RECORDS, policy=AnswerPolicy(gate_threshold=-1.0), limit=3, seed=0
    )
    assert policy.decoding == "free" and metrics == by_decoding["free"] and metrics["f1"] == 100.0
    assert by_decoding["copy"]["f1"] == 0.0


def test_a_tie_keeps_the_policys_decoding():
    _, policy, by_decoding = choose_decoding(
        ScriptedGenerator(), HashingEmbedder(), RECORDS, policy=AnswerPolicy(gate_threshold=-1.0), limit=3, seed=0
    )
    assert policy.decoding == "copy" and by_decoding["copy"] == by_decoding["free"]


def test_no_threshold_is_chosen_when_none_beats_having_none():
    assert calibrate_refusal([-1.0, -2.0], [False, False]) is None
    assert calibrate_refusal([-0.1, -3.0], [True, False]) == -1.55

"""The answer policy: a model's stored policy is what it is served with, settings give the
base's, and only a setting given in the environment overrides a stored value."""

import pytest

from core.errors import InputError
from core.settings import Settings
from models.policy import AnswerPolicy, default_policy, resolve_policy

STORED = AnswerPolicy(refusal_threshold=-0.3, gate_threshold=0.4, decoding="copy").to_dict()


def test_a_model_without_a_policy_takes_the_settings():
    settings = Settings(refusal_threshold=0.5, decoding="free", max_new_tokens=20)
    policy = resolve_policy({}, settings)
    assert policy == default_policy(settings)
    assert (policy.gate_threshold, policy.decoding, policy.max_new_tokens, policy.refusal_threshold) == (
        0.5,
        "free",
        20,
        None,
    )


def test_a_stored_policy_wins_over_default_settings():
    assert resolve_policy(STORED, Settings()) == AnswerPolicy.from_dict(STORED)


def test_a_setting_from_the_environment_overrides_the_stored_value(monkeypatch):
    monkeypatch.setenv("RAG_DECODING", "free")
    policy = resolve_policy(STORED, Settings())
    assert policy.decoding == "free" and policy.refusal_threshold == -0.3 and policy.gate_threshold == 0.4


def test_a_policy_round_trips_and_rejects_an_unknown_decoding():
    assert AnswerPolicy.from_dict(AnswerPolicy().to_dict() | {"later_field": 1}) == AnswerPolicy()
    with pytest.raises(InputError, match="unknown decoding 'greedy'"):
        AnswerPolicy(decoding="greedy")

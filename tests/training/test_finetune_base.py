"""The real SmolLM2 base for two steps: the serving template, the loss mask and the answer
function work with its tokenizer and chat template."""

import pytest

from answering.answer import answer
from models.generator import HFGenerator, ensure_base_model, load_model
from models.policy import AnswerPolicy
from tests.stand_ins import HashingEmbedder
from tests.training.finetune_fixtures import qa_records
from training.config import FinetuneConfig
from training.train import train


@pytest.mark.slow
def test_two_steps_on_the_real_base(settings, tmp_path):
    import torch

    model, tokenizer = load_model(settings, ensure_base_model(settings))
    model = model.to(torch.float32)
    config = FinetuneConfig(max_steps=2, batch_size=2, warmup_steps=1, checkpoint_every=1)
    model, state = train(model, tokenizer, qa_records(4), config, tmp_path)
    assert len(state.losses) == 2 and all(0 < loss < 20 for loss in state.losses)
    record = qa_records(1)[0]
    passages = [p["text"] for p in record["passages"]]
    result = answer(
        record["question"],
        passages,
        generator=HFGenerator(model.eval(), tokenizer),
        embedder=HashingEmbedder(),
        policy=AnswerPolicy(gate_threshold=-1.0, max_new_tokens=8),
    )
    assert result.refusal_score < 0 and (result.refused or any(result.text.split(" [")[0] in p for p in passages))

"""The fused Llama decode step against the model's own forward, on a tiny random Llama."""

import pytest
import torch

from models.decoding import CacheSession, Decoder, supports_fused
from tests.stand_ins import BigramModel


def _tiny_llama(dtype=torch.float32):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=97,
        hidden_size=48,
        intermediate_size=96,
        num_hidden_layers=3,
        num_attention_heads=6,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        rope_theta=100000.0,
    )
    return LlamaForCausalLM(config).to(dtype).eval()


PROMPT = [5, 17, 3, 88, 42, 42, 7, 1, 60]
CONTINUATION = [11, 12, 96, 0, 33]


def _logits(decoder: Decoder, prompt: list[int], tokens: list[int]) -> list[torch.Tensor]:
    session = decoder.start(prompt, capacity=len(prompt) + len(tokens))
    return [session.logits.clone()] + [session.step(token).clone() for token in tokens]


def test_the_fused_step_gives_the_logits_of_the_models_forward():
    model = _tiny_llama()
    fused, plain = Decoder(model), Decoder(model, fused=False)
    assert fused.is_fused and not plain.is_fused
    for mine, theirs in zip(_logits(fused, PROMPT, CONTINUATION), _logits(plain, PROMPT, CONTINUATION), strict=True):
        torch.testing.assert_close(mine, theirs, atol=1e-5, rtol=1e-5)


def test_a_cropped_session_continues_as_if_the_cropped_tokens_never_came():
    decoder = Decoder(_tiny_llama())
    session = decoder.start(PROMPT + [9, 9, 9], capacity=len(PROMPT) + 8, keep_logits=4)
    assert session.logits.shape == (4, 97)
    session.crop(len(PROMPT))
    after_crop = session.step(CONTINUATION[0])
    fresh = decoder.start(PROMPT, capacity=len(PROMPT) + 1)
    torch.testing.assert_close(after_crop, fresh.step(CONTINUATION[0]), atol=1e-5, rtol=1e-5)


def test_a_session_refuses_to_grow_past_its_capacity():
    session = Decoder(_tiny_llama()).start(PROMPT, capacity=len(PROMPT) + 1)
    session.step(1)
    with pytest.raises(ValueError, match="larger capacity"):
        session.step(2)


def test_models_the_step_does_not_reproduce_decode_with_their_own_forward():
    from peft import LoraConfig, get_peft_model

    lora = get_peft_model(_tiny_llama(), LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    assert not supports_fused(lora) and not supports_fused(BigramModel(10, {}, [1]))
    assert not supports_fused(_tiny_llama(torch.bfloat16))
    assert isinstance(Decoder(lora).start(PROMPT, capacity=len(PROMPT)), CacheSession)
    assert supports_fused(lora.merge_and_unload())

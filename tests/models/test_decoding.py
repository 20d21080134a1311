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


PROMPTS = [PROMPT, [3, 1, 4, 1, 5, 9, 2, 6], [60, 61, 62]]


def _alone(decoder: Decoder) -> list[list[torch.Tensor]]:
    return [_logits(decoder, prompt, CONTINUATION) for prompt in PROMPTS]


def _together(decoder: Decoder) -> list[list[torch.Tensor]]:
    """Each prompt decoded in its own thread, all stepping at once."""
    import threading

    results: list = [None] * len(PROMPTS)
    start = threading.Barrier(len(PROMPTS))

    def run(n: int) -> None:
        session = decoder.start(PROMPTS[n], capacity=len(PROMPTS[n]) + len(CONTINUATION))
        start.wait()
        results[n] = [session.logits.clone()] + [session.step(token).clone() for token in CONTINUATION]

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(PROMPTS))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _slow_first_batch(decoder: Decoder):
    """Hold the first batched step a moment, so the other sessions' steps queue behind it."""
    import time

    fused, first = decoder.batcher._fused, []
    original = fused.step_many

    def slow(*args):
        if not first:
            first.append(True)
            time.sleep(0.3)
        return original(*args)

    fused.step_many = slow


def test_concurrent_sessions_share_steps_and_get_their_own_logits():
    decoder = Decoder(_tiny_llama())
    alone = _alone(decoder)
    _slow_first_batch(decoder)
    together = _together(decoder)
    for mine, theirs in zip(together, alone, strict=True):
        for step_logits, reference in zip(mine, theirs, strict=True):
            torch.testing.assert_close(step_logits, reference, atol=1e-5, rtol=1e-5)
    assert max(decoder.batcher.batch_sizes) > 1  # steps of several sessions ran as one
    assert sum(decoder.batcher.batch_sizes) == 2 * len(PROMPTS) * len(CONTINUATION)  # each step once, alone too


def test_a_failed_batch_fails_each_of_its_steps_and_the_next_batch_runs():
    decoder = Decoder(_tiny_llama())
    session = decoder.start(PROMPT, capacity=len(PROMPT) + 2)
    fused, original = decoder.batcher._fused, decoder.batcher._fused.step_many
    fused.step_many = lambda *args: (_ for _ in ()).throw(RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        session.step(1)
    fused.step_many = original
    fresh = decoder.start(PROMPT, capacity=len(PROMPT) + 1)
    assert fresh.step(1).shape == (97,)

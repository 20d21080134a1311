"""A stand-in causal LM whose next-token preferences are a table keyed by the previous token,
so the decoding loops can be run on chosen logits in milliseconds; and chosen logits alone."""

from types import SimpleNamespace


class BigramModel:
    """``follow[token]`` lists the preferred next tokens, best first; any other token is
    followed by ``default``."""

    def __init__(self, vocab_size: int, follow: dict[int, list[int]], default: list[int]):
        self.vocab_size, self.follow, self.default = vocab_size, follow, default

    def __call__(self, input_ids, past_key_values=None, use_cache=True, logits_to_keep=0):
        import torch

        logits = torch.zeros(1, input_ids.shape[1], self.vocab_size)
        for position, token in enumerate(input_ids[0].tolist()):
            preferred = self.follow.get(token, self.default)
            logits[0, position, preferred] = torch.arange(len(preferred), 0, -1, dtype=torch.float32)
        return SimpleNamespace(logits=logits[:, -logits_to_keep:])


def token_ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False).input_ids


def preferring(tokenizer, preferred: list[str]):
    """Logits ranking the tokens ``preferred`` (best first) above all others."""
    import torch

    logits = torch.zeros(len(tokenizer))
    for score, token in enumerate(reversed(preferred), start=1):
        logits[tokenizer.convert_tokens_to_ids(token)] = float(score)
    return logits

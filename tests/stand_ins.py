"""Every stand-in of the test suite, in one place: a generator that replies with a script, a
searcher that returns fixed hits, a bag-of-words embedder, a chat template, and a causal LM
whose logits are a table (with helpers for chosen logits), for the decoding loops.

Each follows the Protocol it stands in for (``models.generator.Generator``,
``retrieval.base.Searcher``, ``models.embedder.Embedder``). The shared suites run the same
checks on a stand-in and on the real implementation: ``tests/models/test_generator_contract.py``
(``ScriptedGenerator`` and ``HFGenerator``) and ``tests/retrieval/test_searcher_contract.py``
(``FixedSearcher`` and ``HybridSearcher``)."""

import re
import threading
import time
import zlib
from functools import cache, cached_property
from types import SimpleNamespace

import numpy as np

from models.embedder import embedder_model_dir
from models.generator import TokenStream
from models.prompt import REFUSAL


class ChatTokenizer:
    """SmolLM2's chat template (ChatML), as much of it as ``models.prompt.render_prompt`` needs."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return turns + ("<|im_start|>assistant\n" if add_generation_prompt else "")


class ScriptedGenerator:
    """Replies with ``reply`` one word per token (``delay`` seconds a token), unless its
    ``refusal_score`` reaches the policy's refusal threshold: then with the refusal. A prompt
    token is a word. Records the prompts, passages and policies it was given."""

    tokenizer = ChatTokenizer()

    def __init__(self, reply: str = "Paris [1]", *, refusal_score: float = -5.0, delay: float = 0.0):
        self.reply = reply
        self.refusal_score = refusal_score
        self.delay = delay
        self.prompts: list[str] = []
        self.passages: list[list[str]] = []
        self.policies: list = []

    def generate(self, prompt, passages, policy, max_new_tokens=None):
        self.prompts.append(prompt)
        self.passages.append(passages)
        self.policies.append(policy)
        threshold = policy.refusal_threshold
        text = REFUSAL if threshold is not None and self.refusal_score >= threshold else self.reply
        words = text.split(" ")[: max_new_tokens or policy.max_new_tokens]
        return TokenStream(
            self._ids(len(words)), lambda ids: " ".join(words[: len(ids)]), len(prompt.split()), self.refusal_score
        )

    def _ids(self, count: int):
        for i in range(count):
            time.sleep(self.delay)
            yield i


DIMENSION = 384
_tokenizer_lock = threading.Lock()  # transformers' lazy imports are not thread-safe


@cache
def _word_vector(word: str) -> np.ndarray:
    vector = np.random.default_rng(zlib.crc32(word.encode())).standard_normal(DIMENSION).astype(np.float32)
    vector.flags.writeable = False
    return vector


class HashingEmbedder:
    """The real embedder's interface with hashed bag-of-words vectors: each word (``\\w+``,
    lower-cased) is a fixed random Gaussian vector seeded by its crc32, a text the L2-normalised
    sum. Texts sharing words are close, others near orthogonal (cosine about +-0.05), and no
    two cosines tie by accident, so exact top-k lists are well defined. The same in every
    process and instance: a corpus written with one is searched with another. An empty text
    gets the first unit vector. The tokenizer (MiniLM's, for chunking) loads on first use."""

    dimension = DIMENSION
    max_tokens = 254

    def __init__(self):
        self.model_dir = embedder_model_dir()

    @cached_property
    def tokenizer(self):
        from transformers import AutoTokenizer

        with _tokenizer_lock:
            return AutoTokenizer.from_pretrained(self.model_dir)

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row] += _word_vector(word)
        vectors[:, 0] += 1e-3  # no zero vector for an empty text
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class FixedSearcher:
    """Returns ``hits`` (best first) for every query, the first k, whatever the mode and the
    filters; records what it was asked, filters included, for the tests to check."""

    def __init__(self, hits, embedder=None):
        self.hits = hits
        self.embedder = embedder or HashingEmbedder()
        self.calls: list[dict] = []

    def search(self, query, *, k=10, mode="hybrid", filters=None):
        self.calls.append({"query": query, "k": k, "mode": mode, "filters": filters or []})
        return self.hits[:k]

    def close(self):
        pass


class BigramModel:
    """A causal LM whose next-token preferences are a table keyed by the previous token, so the
    decoding loops run on chosen logits in milliseconds: ``follow[token]`` lists the preferred
    next tokens, best first; any other token is followed by ``default``."""

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
    """``text``'s token ids, without special tokens."""
    return tokenizer(text, add_special_tokens=False).input_ids


def preferring(tokenizer, preferred: list[str]):
    """Logits ranking the tokens ``preferred`` (best first) above all others."""
    import torch

    logits = torch.zeros(len(tokenizer))
    for score, token in enumerate(reversed(preferred), start=1):
        logits[tokenizer.convert_tokens_to_ids(token)] = float(score)
    return logits

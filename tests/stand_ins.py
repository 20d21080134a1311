"""The stand-ins for the model seams, in one place: a generator that replies with a script, a
searcher that returns fixed hits, and a bag-of-words embedder. Each follows the Protocol it
stands in for (``models.generator.Generator``, ``retrieval.base.Searcher``,
``models.embedder.Embedder``'s ``embed``); ``tests/models/test_generator_protocol.py`` runs
the same checks on the stand-in generator and the real one."""

import re
import time
import zlib

import numpy as np

from models.embedder import embedder_model_dir
from models.generator import TokenStream
from models.prompt import REFUSAL


class ChatTokenizer:
    """Renders the chat template as tagged lines (enough for ``models.prompt.render_prompt``)."""

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        return "".join(f"<{m['role']}>{m['content']}\n" for m in messages) + "<assistant>"


class ScriptedGenerator:
    """Replies with ``reply`` one word per token (``delay`` seconds a token), unless its
    ``refusal_score`` reaches the policy's refusal threshold: then with the refusal. Records
    the prompts, passages and policies it was given."""

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


class HashingEmbedder:
    """The real embedder's interface (its tokenizer too, for chunking) with hashed bag-of-words
    vectors: texts sharing words are close, others near orthogonal."""

    dimension = 384
    max_tokens = 254

    def __init__(self):
        from transformers import AutoTokenizer

        self.model_dir = embedder_model_dir()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        self.calls: list[int] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(len(texts))
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % self.dimension] += 1.0
        vectors[:, 0] += 1e-3  # no zero vector for an empty text
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class FixedSearcher:
    """Returns ``hits`` for every query (the first k), and records what it was asked."""

    def __init__(self, hits, embedder=None):
        self.hits = hits
        self.embedder = embedder or HashingEmbedder()
        self.calls: list[dict] = []

    def search(self, query, *, k=10, mode="hybrid", filters=None):
        self.calls.append({"query": query, "k": k, "mode": mode, "filters": filters or []})
        return self.hits[:k]

    def close(self):
        pass

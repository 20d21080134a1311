"""Ingest fixtures: a cheap stand-in embedder (the real tokenizer, hashed bag-of-words
vectors) so pipeline tests stay fast; the real model is only in the ``slow`` tests."""

import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from models.embedder import embedder_model_dir


class HashingEmbedder:
    """Same interface as the real embedder; similar texts get similar vectors."""

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


@pytest.fixture(scope="session")
def fake_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
def small_settings(settings):
    """Small chunks, so short test documents give several chunks."""
    return settings.model_copy(update={"chunk_tokens": 32, "chunk_overlap": 8, "embed_batch_size": 4})


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

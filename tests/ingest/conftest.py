"""Ingest fixtures: a cheap stand-in embedder (the real tokenizer, hashed bag-of-words
vectors) so pipeline tests stay fast; the real model is only in the ``slow`` tests."""

from pathlib import Path

import pytest

from tests.stand_ins import HashingEmbedder


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

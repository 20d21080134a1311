"""Ingest fixtures: a cheap stand-in embedder (the real tokenizer, hashed bag-of-words
vectors) so pipeline tests stay fast; the real model is only in the ``slow`` tests."""

from pathlib import Path

import numpy as np
import pytest

from index.faiss_index import FaissIndex
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


def assert_stores_agree(settings, conn) -> None:
    """FAISS (its file matching its build row) holds exactly pgvector's searchable ids and
    vectors, and every unsearchable chunk is a recorded duplicate."""
    rows = (
        conn.cursor(binary=True)
        .execute("SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id")
        .fetchall()
    )
    index = FaissIndex.load_verified(settings, conn)
    order = np.argsort(index.ids())
    assert index.ids()[order].tolist() == [r[0] for r in rows]
    if rows:
        np.testing.assert_array_equal(index.vectors()[order], np.stack([r[1].to_numpy() for r in rows]))
    dangling = conn.execute(
        "SELECT count(*) FROM chunks c WHERE c.embedding IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM duplicates d WHERE d.chunk_id = c.id)"
    ).fetchone()[0]
    assert dangling == 0

"""A small fixture corpus written straight into Postgres and FAISS (no model): 24 sources in
two collections with metadata, two chunks each, plus one duplicate chunk without a vector.
Vectors come from ``tests.stand_ins.HashingEmbedder``, a deterministic bag-of-words stand-in
for MiniLM; the ``hash_embedder`` fixture gives one to embed queries with."""

import json

import numpy as np
import pytest

from core.db import open_pool
from index.faiss_index import FaissIndex
from tests.stand_ins import HashingEmbedder

WORDS = "wing lift drag shock boundary layer heat flux nozzle flow pressure cone plate vortex".split()


def source_rows() -> list[dict]:
    rng = np.random.default_rng(7)
    rows = []
    for n in range(24):
        team = "abc"[n % 3]
        rows.append(
            {
                "collection": "alpha" if n < 16 else "beta",
                "uri": f"file:///docs/{team}/{n}.txt",
                "metadata": {"lang": "en" if n % 2 else "de", "team": team, "n": n},
                "synthetic": n % 4 == 0,
                "chunks": [" ".join(rng.choice(WORDS, size=8)) for _ in range(2)],
            }
        )
    rows[5]["metadata"]["note"] = "x' OR '1'='1"
    return rows


@pytest.fixture
def corpus(settings, conn):
    """Writes the corpus and its FAISS build; returns {chunk_id: (source row, text, vector)}."""
    embedder = HashingEmbedder()
    chunks = {}
    collections = {}
    for name in ("alpha", "beta"):
        collections[name] = conn.execute("INSERT INTO collections (name) VALUES (%s) RETURNING id", (name,)).fetchone()[
            0
        ]
    for row in source_rows():
        source_id = conn.execute(
            "INSERT INTO sources (collection_id, uri, sha256, size_bytes, mime_type, metadata, synthetic)"
            " VALUES (%s, %s, 'x', 1, 'text/plain', %s, %s) RETURNING id",
            (collections[row["collection"]], row["uri"], json.dumps(row["metadata"]), row["synthetic"]),
        ).fetchone()[0]
        for ordinal, text in enumerate(row["chunks"]):
            vector = embedder.embed([text])[0]
            chunk_id = conn.execute(
                "INSERT INTO chunks"
                " (source_id, ordinal, char_start, char_end, text, token_count, content_hash, embedding)"
                " VALUES (%s, %s, %s, %s, %s, 8, md5(%s), %s) RETURNING id",
                (source_id, ordinal, ordinal * 100, ordinal * 100 + len(text), text, text, vector),
            ).fetchone()[0]
            chunks[chunk_id] = (row, text, vector)
    conn.execute(
        "INSERT INTO chunks (source_id, ordinal, char_start, char_end, text, token_count, content_hash)"
        " VALUES (%s, 9, 0, 9, 'wing wing wing wing', 4, 'dup')",
        (source_id,),
    )
    conn.commit()
    index = FaissIndex.load(settings)
    ids = np.array(list(chunks), dtype=np.int64)
    index.add(ids, np.stack([chunks[i][2] for i in ids]))
    index.save(conn, None)
    return chunks


@pytest.fixture
def hash_embedder():
    return HashingEmbedder()


@pytest.fixture
def pool(settings, conn):
    with open_pool(settings) as opened:
        yield opened

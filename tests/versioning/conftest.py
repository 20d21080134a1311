"""A tiny real world for the versioning tests: one collection with an ingest run, a source and
two chunks, a registered base model whose weights are a file on disk, and the stand-ins for the
searcher and the generator (``tests.stand_ins``; the database is the real embedded PostgreSQL)."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from models.artifact import weights_sha256
from models.registry import get_model, register_model
from retrieval.base import SearchHit


@dataclass
class World:
    collection: str
    source_uri: str
    hits: list[SearchHit]
    model_dir: Path


def weights_folder(folder: Path, content: bytes) -> Path:
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(content)
    return folder


@pytest.fixture
def world(conn, tmp_path) -> World:
    collection = conn.execute("INSERT INTO collections (name) VALUES ('docs') RETURNING id").fetchone()[0]
    run = conn.execute(
        "INSERT INTO ingest_runs (collection_id, status) VALUES (%s, 'succeeded') RETURNING id", (collection,)
    ).fetchone()[0]
    uri = (tmp_path / "docs" / "paris.txt").as_uri()
    source = conn.execute(
        "INSERT INTO sources (collection_id, uri, sha256, size_bytes, mime_type, ingest_run_id)"
        " VALUES (%s, %s, 'abc', 10, 'text/plain', %s) RETURNING id",
        (collection, uri, run),
    ).fetchone()[0]
    hits = []
    for ordinal, text in enumerate(["Paris is the capital of France.", "Lyon is a city in France."]):
        chunk = conn.execute(
            "INSERT INTO chunks (source_id, ordinal, char_start, char_end, text, token_count, content_hash)"
            " VALUES (%s, %s, 0, %s, %s, 8, %s) RETURNING id",
            (source, ordinal, len(text), text, f"h{ordinal}"),
        ).fetchone()[0]
        hits.append(
            SearchHit(chunk, uri, "docs", text, (0, len(text)), {}, 0.03, {"bm25": 2.0, "dense": 0.8 - ordinal / 10})
        )
    model_dir = weights_folder(tmp_path / "models" / "base", b"base weights")
    register_model(conn, name="base", kind="base", path=model_dir, sha256=weights_sha256(model_dir))
    conn.commit()
    return World("docs", uri, hits, model_dir)


@pytest.fixture
def base_model(conn, world):
    return get_model(conn, 1)

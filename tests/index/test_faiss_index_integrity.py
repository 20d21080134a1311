"""One truth per FAISS index: concurrent ingests into different collections, a tampered file
rebuilt by the next ingest and refused by a searcher. Real Postgres, the hashing stand-in."""

import hashlib
import threading

import numpy as np
import pytest

from core.errors import IndexIntegrityError
from index.builds import latest_faiss_checksum
from index.faiss_index import INDEX_FILE, FaissIndex
from ingest.pipeline import ingest_paths
from tests.stand_ins import HashingEmbedder


@pytest.fixture
def small_settings(settings):
    return settings.model_copy(update={"chunk_tokens": 32, "chunk_overlap": 8, "embed_batch_size": 4})


def _corpus(folder, topic: str, files: int = 30):
    folder.mkdir(parents=True)
    for i in range(files):
        (folder / f"{topic}{i}.txt").write_text(
            " ".join(f"{topic} document {i} sentence {j} about {topic} item {i * j}." for j in range(12))
        )
    return folder


def _ingest(settings, folder, collection: str, embedder=None):
    return ingest_paths(
        settings, [folder], collection=collection, embedder=embedder or HashingEmbedder(), show_progress=False
    )


def _assert_file_is_pgvector(settings, conn):
    """The file's ids and vectors equal pgvector's rows, and its sha256 is the latest build's."""
    path = settings.faiss_dir / INDEX_FILE
    assert hashlib.sha256(path.read_bytes()).hexdigest() == latest_faiss_checksum(conn)
    index = FaissIndex.load_verified(settings, conn)
    rows = (
        conn.cursor(binary=True)
        .execute("SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL ORDER BY id")
        .fetchall()
    )
    order = np.argsort(index.ids())
    assert index.ids()[order].tolist() == [r[0] for r in rows]
    np.testing.assert_array_equal(index.vectors()[order], np.stack([r[1].to_numpy() for r in rows]))


def test_concurrent_ingests_into_two_collections_leave_one_consistent_index(small_settings, conn, tmp_path):
    folders = {name: _corpus(tmp_path / name, name) for name in ("alpha", "beta")}
    embedders = {name: HashingEmbedder() for name in folders}  # transformers' lazy import is not thread-safe
    errors: list[BaseException] = []

    def ingest(name):
        try:
            _ingest(small_settings, folders[name], name, embedders[name])
        except BaseException as exc:  # surfaced below; a thread cannot fail the test itself
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(name,)) for name in folders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert conn.execute("SELECT count(DISTINCT collection_id) FROM sources").fetchone()[0] == 2
    _assert_file_is_pgvector(small_settings, conn)
    assert not list(small_settings.faiss_dir.glob("*.tmp"))


def test_a_tampered_file_is_refused_then_rebuilt_by_the_next_ingest(small_settings, conn, tmp_path):
    folder = _corpus(tmp_path / "gamma", "gamma", files=5)
    _ingest(small_settings, folder, "gamma")
    path = small_settings.faiss_dir / INDEX_FILE
    data = bytearray(path.read_bytes())
    data[-4000:-3000] = bytes(1000)  # zero a stretch of stored vectors
    path.write_bytes(bytes(data))
    with pytest.raises(IndexIntegrityError, match=r"index\.faiss.*rag ingest"):
        FaissIndex.load_verified(small_settings, conn)
    report = _ingest(small_settings, folder, "gamma")  # every file unchanged: only the index heals
    assert report.unchanged == 5 and report.index_build_id is not None
    _assert_file_is_pgvector(small_settings, conn)


def test_an_intact_file_is_not_rewritten(small_settings, conn, tmp_path):
    folder = _corpus(tmp_path / "delta", "delta", files=3)
    _ingest(small_settings, folder, "delta")
    assert _ingest(small_settings, folder, "delta").index_build_id is None
    _assert_file_is_pgvector(small_settings, conn)

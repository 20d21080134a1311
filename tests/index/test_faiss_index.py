import numpy as np
import pytest

from index.faiss_index import FaissIndex


def _unit_rows(n: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).normal(size=(n, 384)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.fixture
def index(settings):
    return FaissIndex.load(settings)


def test_load_without_a_file_is_empty(index):
    assert index.ntotal == 0 and index.ids().size == 0
    assert index.search(_unit_rows(1), 5) == [[]]


def test_search_finds_the_vector_itself_first(index):
    vectors = _unit_rows(20)
    index.add(np.arange(100, 120), vectors)
    hits = index.search(vectors[[3, 7]], 3)
    assert [row[0][0] for row in hits] == [103, 107]
    assert hits[0][0][1] == pytest.approx(1.0, abs=1e-5)


def test_allowed_ids_filter_inside_faiss_still_returns_k(index):
    vectors = _unit_rows(50)
    index.add(np.arange(50), vectors)
    allowed = np.array([2, 9, 31, 40])
    hits = index.search(vectors[:1], 3, allowed_ids=allowed)[0]
    assert len(hits) == 3 and {i for i, _ in hits} <= set(allowed.tolist())
    assert index.search(vectors[:1], 3, allowed_ids=np.array([], dtype=np.int64)) == [[]]


def test_remove_drops_ids(index):
    index.add(np.arange(10), _unit_rows(10))
    index.remove(np.array([1, 5]))
    assert sorted(index.ids().tolist()) == [0, 2, 3, 4, 6, 7, 8, 9]
    assert index.ntotal == 8


def test_save_records_a_build_and_load_round_trips(settings, conn, index):
    index.add(np.arange(7), _unit_rows(7))
    build_id = index.save(conn, None)
    kind, count, checksum, path = conn.execute(
        "SELECT kind, vector_count, checksum, path FROM index_builds WHERE id = %s", (build_id,)
    ).fetchone()
    assert (kind, count, len(checksum)) == ("faiss", 7, 64)
    assert path == str(index.path) and not index.path.with_suffix(".tmp").exists()
    assert sorted(FaissIndex.load(settings).ids().tolist()) == list(range(7))


def _insert_chunks(conn, vectors: list[np.ndarray | None]) -> list[int]:
    collection = conn.execute("INSERT INTO collections (name) VALUES ('c') RETURNING id").fetchone()[0]
    source = conn.execute(
        "INSERT INTO sources (collection_id, uri, sha256, size_bytes, mime_type)"
        " VALUES (%s, 'file:///a', 'x', 1, 'text/plain') RETURNING id",
        (collection,),
    ).fetchone()[0]
    return [
        conn.execute(
            "INSERT INTO chunks (source_id, ordinal, char_start, char_end, text, token_count, content_hash, embedding)"
            " VALUES (%s, %s, 0, 1, 't', 1, 'h', %s) RETURNING id",
            (source, ordinal, vector),
        ).fetchone()[0]
        for ordinal, vector in enumerate(vectors)
    ]


def test_reconcile_follows_postgres(conn, index):
    vectors = _unit_rows(3)
    ids = _insert_chunks(conn, [vectors[0], None, vectors[2]])
    conn.commit()
    index.add(np.array([999]), _unit_rows(1, seed=1))
    assert index.reconcile(conn) == (2, 1)
    assert sorted(index.ids().tolist()) == [ids[0], ids[2]]
    assert index.search(vectors[2:3], 1)[0][0][0] == ids[2]
    assert index.reconcile(conn) == (0, 0)


def _exact_top(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return ids[np.argsort(-(vectors @ query), kind="stable")[:k]].tolist()


def test_graph_search_with_a_broad_filter_matches_exact_search(index):
    vectors = _unit_rows(400)
    ids = np.arange(1000, 1400)
    index.add(ids, vectors)
    allowed = ids[::2]  # half the vectors: searched in the graph, not exactly
    index.ef_search = 400  # a candidate list as large as the corpus makes the graph search exact
    query = _unit_rows(1, seed=3)
    hits = [i for i, _ in index.search(query, 10, allowed_ids=allowed)[0]]
    assert hits == _exact_top(vectors[::2], allowed, query[0], 10)


def test_a_narrow_filter_is_searched_exactly(index):
    vectors = _unit_rows(400)
    index.add(np.arange(400), vectors)
    allowed = np.array([5, 77, 301])  # under 5% of the vectors
    query = _unit_rows(1, seed=4)
    hits = index.search(query, 10, allowed_ids=allowed)[0]
    assert [i for i, _ in hits] == _exact_top(vectors[allowed], allowed, query[0], 3)


def test_remove_rebuilds_the_graph_and_keeps_the_rest_searchable(index):
    vectors = _unit_rows(200)
    index.add(np.arange(200), vectors)
    index.remove(np.arange(0, 200, 3))
    kept = np.array([i for i in range(200) if i % 3])
    assert sorted(index.ids().tolist()) == kept.tolist()
    assert [row[0][0] for row in index.search(vectors[kept[:5]], 1)] == kept[:5].tolist()

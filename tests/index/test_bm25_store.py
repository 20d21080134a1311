from index.bm25_store import load_bm25
from index.builds import latest_ingest_stamp


def _bm25_builds(conn):
    return conn.execute("SELECT index_id, vector_count FROM index_builds WHERE kind = 'bm25' ORDER BY id").fetchall()


def test_builds_once_per_stamp_and_records_the_build(settings, pool, conn, corpus):
    stamp = latest_ingest_stamp(conn)
    assert stamp == 1
    first = load_bm25(settings, pool, stamp)
    again = load_bm25(settings, pool, stamp)
    assert len(first) == len(again) == 48
    builds = _bm25_builds(conn)
    assert len(builds) == 1 and builds[0][1] == 48
    assert (settings.data_dir / "bm25" / "CURRENT").read_text() == builds[0][0]


def test_a_new_ingest_stamp_rebuilds_from_the_searchable_chunks(settings, pool, conn, corpus):
    load_bm25(settings, pool, 1)
    conn.execute("UPDATE chunks SET embedding = NULL WHERE id = (SELECT min(id) FROM chunks)")
    conn.execute(
        "INSERT INTO index_builds (kind, index_id, vector_count, checksum, path) VALUES ('faiss', 'f2', 47, 'c', 'p')"
    )
    conn.commit()
    stamp = latest_ingest_stamp(conn)
    assert len(load_bm25(settings, pool, stamp)) == 47
    assert [count for _, count in _bm25_builds(conn)] == [48, 47]
    assert len(list((settings.data_dir / "bm25").glob("build-*"))) == 1


def test_an_empty_database_gives_an_empty_index(settings, pool, conn):
    assert latest_ingest_stamp(conn) == 0
    assert load_bm25(settings, pool, 0).top("anything", 5) == []

import pytest

from core.errors import NotFoundError
from models.registry import register_model
from versioning.store import (
    NewVersion,
    get_version,
    link_collection,
    link_models,
    list_versions,
    record_version,
    referrers,
)

COUNTS = {
    "files": 1,
    "records": 3,
    "synthetic_records": 1,
    "by_file": {"a.jsonl": {"records": 3, "synthetic_records": 1}},
}


def new(name="corpus", md5="0" * 32 + ".dir", params_hash="p1"):
    return NewVersion(name, "data/corpus", md5, "c0ffee", params_hash, {"ingest": {"chunk_tokens": 256}}, COUNTS)


def test_recording_the_same_content_and_params_gives_back_the_first_version(conn):
    first, created = record_version(conn, new())
    again, created_again = record_version(conn, new())
    changed, created_changed = record_version(conn, new(md5="1" * 32 + ".dir"))
    assert (created, created_again, created_changed) == (True, False, True)
    assert again.id == first.id != changed.id
    assert (first.records, first.synthetic_records, first.synthetic) == (3, 1, True)
    assert [v.id for v in list_versions(conn)] == [first.id, changed.id]


def test_a_version_is_found_by_id_or_by_name_for_the_newest(conn):
    older, _ = record_version(conn, new(params_hash="a"))
    newer, _ = record_version(conn, new(params_hash="b"))
    assert get_version(conn, "corpus").id == newer.id
    assert get_version(conn, str(older.id)).id == older.id
    with pytest.raises(NotFoundError, match="'qa'"):
        get_version(conn, "qa")


def test_linking_a_collection_stamps_its_latest_run_and_sources_under_the_path(conn, world, tmp_path):
    version, _ = record_version(conn, new())
    linked = link_collection(conn, version.id, world.collection, [(tmp_path / "docs").as_uri() + "/%"])
    assert linked["sources"] == 1
    assert (
        conn.execute("SELECT dataset_version_id FROM ingest_runs WHERE id = %s", (linked["ingest_run"],)).fetchone()[0]
        == version.id
    )
    used = referrers(conn, version.id)
    assert (used["ingest_runs"], used["sources"], used["models"], used["generation_logs"]) == (
        [linked["ingest_run"]],
        1,
        [],
        0,
    )
    with pytest.raises(NotFoundError, match="'elsewhere'"):
        link_collection(conn, version.id, "elsewhere", ["%"])


def test_linking_models_by_their_weights_hash(conn, world):
    version, _ = record_version(conn, new(name="qa"))
    model = register_model(conn, name="ft", kind="full", path="/m/ft", sha256="beef")
    assert link_models(conn, version.id, "beef", world.model_dir) == [model]
    with pytest.raises(NotFoundError, match="no registered model"):
        link_models(conn, version.id, "dead", world.model_dir)


def test_a_referenced_version_cannot_be_deleted(conn, world):
    import psycopg

    version, _ = record_version(conn, new())
    link_collection(conn, version.id, world.collection, ["%"])
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute("DELETE FROM dataset_versions WHERE id = %s", (version.id,))

"""The pipeline against a real embedded Postgres, with the hashing stand-in embedder."""

import json
import shutil

import numpy as np
import pytest

import ingest.flush
import ingest.pipeline
from index.faiss_index import FaissIndex
from tests.ingest.conftest import assert_stores_agree
from tests.ingest.ingesting import run

DOCS = {
    "hybrid.txt": "Hybrid search runs a keyword retriever and a vector retriever. Reciprocal rank fusion "
    "merges the two ranked lists into one. Documents found by both rise to the top.",
    "versioning.md": "# Dataset versioning\n\nDataset versioning records the exact bytes of every file used "
    "to train a model, so an experiment can be rebuilt months later and compared with the next one.",
    "privacy.html": "<html><body><article><h1>Privacy</h1><p>Logs must not keep personal data longer than "
    "needed. Hash user identifiers and drop free text fields before they reach storage.</p></article></body></html>",
}
NEAR = DOCS["versioning.md"].replace("months later", "many months later")


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text)
    (folder / "rows.jsonl").write_text(
        "\n".join(
            json.dumps({"_id": f"r{i}", "title": f"Row {i}", "text": f"Row number {i} talks about topic {i}."})
            for i in range(3)
        )
    )
    return folder


def test_first_run_ingests_everything_and_stores_agree(small_settings, conn, fake_embedder, corpus):
    report = run(small_settings, fake_embedder, [corpus], metadata={"team": "search"})
    assert (report.new, report.failed, report.skipped) == (6, 0, 0)
    assert report.added == conn.execute("SELECT count(*) FROM chunks").fetchone()[0] > 6
    spans = conn.execute("SELECT text, char_start, char_end FROM chunks").fetchall()
    assert all(len(text) == end - start for text, start, end in spans)
    uri, metadata = conn.execute("SELECT uri, metadata FROM sources WHERE uri LIKE '%%#r1'").fetchone()
    assert uri.endswith("rows.jsonl#r1") and metadata == {"team": "search"}
    assert_stores_agree(small_settings, conn)
    build = conn.execute("SELECT vector_count, ingest_run_id FROM index_builds ORDER BY id DESC").fetchone()
    assert build == (FaissIndex.load(small_settings).ntotal, report.run_id)
    assert conn.execute("SELECT status FROM ingest_runs WHERE id = %s", (report.run_id,)).fetchone()[0] == "succeeded"


def test_rerun_adds_nothing_and_loads_no_model(small_settings, conn, fake_embedder, corpus, monkeypatch):
    run(small_settings, fake_embedder, [corpus])
    counts = conn.execute("SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM chunks)").fetchone()
    builds = conn.execute("SELECT count(*) FROM index_builds").fetchone()
    monkeypatch.setattr(ingest.pipeline, "load_embedder", lambda settings: pytest.fail("model loaded"))
    again = run(small_settings, None, [corpus])
    assert (again.unchanged, again.new, again.changed, again.added) == (6, 0, 0, 0)
    assert conn.execute("SELECT count(*) FROM index_builds").fetchone() == builds
    assert conn.execute("SELECT (SELECT count(*) FROM sources), (SELECT count(*) FROM chunks)").fetchone() == counts


def test_duplicates_within_a_run_and_across_runs_have_provenance(small_settings, conn, fake_embedder, corpus):
    shutil.copy(corpus / "hybrid.txt", corpus / "hybrid-copy.txt")
    (corpus / "versioning-edit.md").write_text(NEAR)
    first = run(small_settings, fake_embedder, [corpus])
    assert first.exact_duplicates >= 1 and first.near_duplicates >= 1
    kinds = dict(
        conn.execute(
            "SELECT s.uri, array_agg(DISTINCT d.kind) FROM duplicates d JOIN chunks c ON c.id = d.chunk_id"
            " JOIN sources s ON s.id = c.source_id GROUP BY s.uri"
        ).fetchall()
    )
    kinds = {uri.rsplit("/", 1)[1]: found for uri, found in kinds.items()}
    # "hybrid-copy.txt" and "versioning-edit.md" sort first, so they hold the originals.
    assert set(kinds) == {"hybrid.txt", "versioning.md"}
    assert kinds["hybrid.txt"] == ["exact"] and "near" in kinds["versioning.md"]
    later = corpus.parent / "later"
    later.mkdir()
    shutil.copy(corpus / "privacy.html", later / "privacy-again.html")
    second = run(small_settings, fake_embedder, [later])
    assert second.new == 1 and second.exact_duplicates == second.added
    originals = conn.execute(
        "SELECT DISTINCT o.uri FROM duplicates d JOIN chunks c ON c.id = d.original_chunk_id"
        " JOIN sources o ON o.id = c.source_id WHERE d.ingest_run_id = %s",
        (second.run_id,),
    ).fetchall()
    assert [r[0].rsplit("/", 1)[1] for r in originals] == ["privacy.html"]
    assert_stores_agree(small_settings, conn)


def test_changed_file_replaces_its_chunks(small_settings, conn, fake_embedder, corpus):
    run(small_settings, fake_embedder, [corpus])
    (corpus / "hybrid.txt").write_text("Completely new text about vector databases and HNSW graphs.")
    report = run(small_settings, fake_embedder, [corpus])
    assert (report.changed, report.unchanged, report.added) == (1, 5, 1)
    assert report.removed >= 1
    texts = [
        r[0]
        for r in conn.execute(
            "SELECT c.text FROM chunks c JOIN sources s ON s.id = c.source_id WHERE s.uri LIKE '%%hybrid.txt'"
        )
    ]
    assert texts == ["Completely new text about vector databases and HNSW graphs."]
    assert_stores_agree(small_settings, conn)


def test_prune_removes_from_both_stores(small_settings, conn, fake_embedder, corpus):
    run(small_settings, fake_embedder, [corpus])
    (corpus / "privacy.html").unlink()
    (corpus / "rows.jsonl").write_text(
        json.dumps({"_id": "r0", "title": "Row 0", "text": "Row number 0 talks about topic 0."})
    )
    without_prune = run(small_settings, fake_embedder, [corpus])
    assert without_prune.pruned == 0
    report = run(small_settings, fake_embedder, [corpus], prune=True)
    assert report.pruned == 3 and report.removed >= 3
    uris = [r[0].rsplit("/", 1)[1] for r in conn.execute("SELECT uri FROM sources ORDER BY uri")]
    assert uris == ["hybrid.txt", "rows.jsonl#r0", "versioning.md"]
    assert_stores_agree(small_settings, conn)


def test_deleting_an_original_promotes_its_copy(small_settings, conn, fake_embedder, corpus):
    shutil.copy(corpus / "privacy.html", corpus / "zz-privacy-copy.html")
    (corpus / "zz-versioning-near.md").write_text(NEAR)
    run(small_settings, fake_embedder, [corpus])
    searchable = conn.execute("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL").fetchone()[0]
    (corpus / "privacy.html").unlink()
    (corpus / "versioning.md").unlink()
    run(small_settings, fake_embedder, [corpus], prune=True)
    copies = conn.execute(
        "SELECT count(*), count(c.embedding) FROM chunks c JOIN sources s ON s.id = c.source_id"
        " WHERE s.uri LIKE '%%/zz-%%'"
    ).fetchone()
    assert copies[0] == copies[1] > 0  # every chunk of the copies is searchable now
    assert conn.execute("SELECT count(*) FROM duplicates").fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM chunks WHERE embedding IS NOT NULL").fetchone()[0] <= searchable
    assert_stores_agree(small_settings, conn)


def test_broken_files_fail_by_name_while_the_rest_lands(small_settings, conn, fake_embedder, corpus):
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    (corpus / "binary.txt").write_bytes(b"\x00\x01\x02\x03 not text")
    (corpus / "empty.md").write_text("  \n\t\n")
    (corpus / "notes.xyz").write_text("unknown format")
    report = run(small_settings, fake_embedder, [corpus])
    failed = {f[0].rsplit("/", 1)[1]: f[1] for f in report.failures}
    assert set(failed) == {"broken.pdf", "binary.txt", "empty.md"}
    assert "unreadable PDF" in failed["broken.pdf"] and "binary" in failed["binary.txt"]
    assert (report.new, report.failed, report.skipped) == (6, 3, 1)
    assert conn.execute("SELECT status FROM ingest_runs WHERE id = %s", (report.run_id,)).fetchone()[0] == "failed"


def test_a_crash_mid_run_then_a_rerun_loses_and_duplicates_nothing(
    small_settings, conn, fake_embedder, corpus, monkeypatch
):
    real_write = ingest.flush.write_source
    written = []

    def crash_after_two(*args):
        if len(written) == 2:
            raise KeyboardInterrupt("killed")
        written.append(real_write(*args))
        return written[-1]

    monkeypatch.setattr(ingest.flush, "write_source", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        run(small_settings, fake_embedder, [corpus])
    assert conn.execute("SELECT count(*) FROM sources").fetchone()[0] == 2
    monkeypatch.setattr(ingest.flush, "write_source", real_write)

    report = run(small_settings, fake_embedder, [corpus])
    assert (report.unchanged, report.new) == (2, 4)
    assert conn.execute("SELECT count(*), count(DISTINCT uri) FROM sources").fetchone() == (6, 6)
    assert (
        conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        == conn.execute("SELECT count(DISTINCT (source_id, ordinal)) FROM chunks").fetchone()[0]
    )
    statuses = [r[0] for r in conn.execute("SELECT status FROM ingest_runs ORDER BY id")]
    assert statuses == ["interrupted", "succeeded"]
    assert_stores_agree(small_settings, conn)


def test_faiss_ids_equal_pgvector_ids_and_vectors(small_settings, conn, fake_embedder, corpus):
    run(small_settings, fake_embedder, [corpus])
    index = FaissIndex.load(small_settings)
    chunk_id, vector = conn.execute("SELECT id, embedding FROM chunks WHERE embedding IS NOT NULL LIMIT 1").fetchone()
    assert index.search(np.asarray(vector.to_numpy())[None, :], 1)[0][0][0] == chunk_id
    assert_stores_agree(small_settings, conn)


def test_a_reader_exception_fails_that_source_alone_and_the_run_ends(
    small_settings, conn, fake_embedder, corpus, monkeypatch
):
    real = ingest.pipeline.clean_text

    def clean_or_raise(text):
        if "Privacy" in text:
            raise NotImplementedError("unsupported filter /ASCII15Decode")
        return real(text)

    monkeypatch.setattr(ingest.pipeline, "clean_text", clean_or_raise)
    report = run(small_settings, fake_embedder, [corpus])
    assert (report.new, report.failed) == (5, 1)
    assert report.failures[0][0].endswith("privacy.html")
    assert report.failures[0][1] == "NotImplementedError: unsupported filter /ASCII15Decode"
    status = conn.execute("SELECT status FROM ingest_runs WHERE id = %s", (report.run_id,)).fetchone()[0]
    assert status == "failed"


def test_a_file_over_the_size_limit_fails_by_name(small_settings, conn, fake_embedder, corpus):
    report = run(small_settings.model_copy(update={"max_source_bytes": 150}), fake_embedder, [corpus])
    assert report.failed >= 1 and all("RAG_MAX_SOURCE_BYTES" in error for _, error in report.failures)
    assert conn.execute("SELECT count(*) FROM sources").fetchone()[0] == report.new

"""The pipeline against a real embedded Postgres, with the hashing stand-in embedder."""

import json
import shutil

import numpy as np
import pytest

import ingest.pipeline
from index.faiss_index import FaissIndex
from ingest.delete import delete_from_collection
from ingest.pipeline import ingest_paths
from ingest.status import ingest_status
from tests.ingest.conftest import assert_stores_agree, write
from tests.ingest.prose import CHUNKING, DOCUMENT, NEW_PARAGRAPH, ONE_WORD_EDIT, PARAGRAPH_EDIT

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


def run(settings, embedder, paths, **kwargs):
    return ingest_paths(settings, paths, collection="docs", embedder=embedder, show_progress=False, **kwargs)


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
    real_write = ingest.pipeline.write_source
    written = []

    def crash_after_two(*args):
        if len(written) == 2:
            raise KeyboardInterrupt("killed")
        written.append(real_write(*args))
        return written[-1]

    monkeypatch.setattr(ingest.pipeline, "write_source", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        run(small_settings, fake_embedder, [corpus])
    assert conn.execute("SELECT count(*) FROM sources").fetchone()[0] == 2
    monkeypatch.setattr(ingest.pipeline, "write_source", real_write)

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


@pytest.fixture
def prose_settings(small_settings):
    return small_settings.model_copy(update=CHUNKING)


def chunks_of(conn, name):
    """(id, text, searchable, duplicate kind, original's uri, similarity) of a source's chunks, in order."""
    return conn.execute(
        "SELECT c.id, c.text, c.embedding IS NOT NULL, d.kind, o.uri, d.similarity FROM chunks c"
        " JOIN sources s ON s.id = c.source_id LEFT JOIN duplicates d ON d.chunk_id = c.id"
        " LEFT JOIN chunks oc ON oc.id = d.original_chunk_id LEFT JOIN sources o ON o.id = oc.source_id"
        " WHERE s.uri LIKE %s ORDER BY c.ordinal",
        ("%/" + name,),
    ).fetchall()


def found_in(settings, conn, embedder, query, k=3):
    """The file names of the sources of the top ``k`` FAISS hits for ``query``."""
    (hits,) = FaissIndex.load(settings).search(embedder.embed([query]), k)
    return [
        conn.execute("SELECT s.uri FROM chunks c JOIN sources s ON s.id = c.source_id WHERE c.id = %s", (chunk_id,))
        .fetchone()[0]
        .rsplit("/", 1)[1]
        for chunk_id, _ in hits
    ]


@pytest.mark.parametrize("same_run", [True, False], ids=["same-run", "later-run"])
def test_a_one_word_edit_that_moves_chunk_boundaries_is_a_source_near_duplicate(
    prose_settings, conn, fake_embedder, tmp_path, same_run
):
    folder = tmp_path / "docs"
    write(folder / "a.txt", DOCUMENT)
    if not same_run:
        run(prose_settings, fake_embedder, [folder])
    write(folder / "b-edited.txt", ONE_WORD_EDIT)
    report = run(prose_settings, fake_embedder, [folder])

    copy, original = chunks_of(conn, "b-edited.txt"), chunks_of(conn, "a.txt")
    assert {text for _, text, *_ in copy}.isdisjoint(text for _, text, *_ in original)  # boundaries moved
    assert report.near_duplicate_sources == 1 and report.source_duplicates == len(copy) > 2
    assert report.to_json()["sources"]["near_duplicates"] == 1
    assert report.to_json()["chunks"]["source_duplicates"] == len(copy)
    assert all(
        not searchable and kind == "source" and uri.endswith("/a.txt") and similarity >= 0.8
        for _, _, searchable, kind, uri, similarity in copy
    )
    assert all(searchable for _, _, searchable, *_ in original)
    (match,) = conn.execute(
        "SELECT s.uri, o.uri, d.similarity, d.ingest_run_id FROM source_duplicates d"
        " JOIN sources s ON s.id = d.source_id JOIN sources o ON o.id = d.original_source_id"
    ).fetchall()
    assert match[0].endswith("/b-edited.txt") and match[1].endswith("/a.txt") and match[2] >= 0.9
    assert match[3] == report.run_id
    for paragraph in DOCUMENT.split("\n\n"):  # the content is found once, in the original
        assert set(found_in(prose_settings, conn, fake_embedder, paragraph)) == {"a.txt"}
    assert_stores_agree(prose_settings, conn)
    status = {c["name"]: c for c in ingest_status(conn, prose_settings)["collections"]}["docs"]
    assert status["duplicates"] == len(copy) and status["searchable_chunks"] == len(original)


def test_a_replaced_paragraph_stays_searchable_in_a_near_duplicate_source(
    prose_settings, conn, fake_embedder, tmp_path
):
    folder = tmp_path / "docs"
    write(folder / "a.txt", DOCUMENT)
    run(prose_settings, fake_embedder, [folder])
    write(folder / "b-new-ending.txt", PARAGRAPH_EDIT)
    report = run(prose_settings, fake_embedder, [folder])

    assert report.near_duplicate_sources == 1
    copy = chunks_of(conn, "b-new-ending.txt")
    searchable = [text for _, text, is_searchable, *_ in copy if is_searchable]
    assert len(searchable) == 1 and NEW_PARAGRAPH in searchable[0]
    assert found_in(prose_settings, conn, fake_embedder, NEW_PARAGRAPH, k=1) == ["b-new-ending.txt"]
    assert all(kind in ("exact", "source") for _, _, is_searchable, kind, *_ in copy if not is_searchable)
    assert_stores_agree(prose_settings, conn)


@pytest.mark.parametrize("how", ["prune", "rag delete"])
def test_deleting_the_original_source_promotes_its_near_duplicate(prose_settings, conn, fake_embedder, tmp_path, how):
    folder = tmp_path / "docs"
    write(folder / "a.txt", DOCUMENT)
    write(folder / "b-edited.txt", ONE_WORD_EDIT)
    run(prose_settings, fake_embedder, [folder])
    assert all(kind == "source" for *_, kind, _, _ in chunks_of(conn, "b-edited.txt"))

    if how == "prune":
        (folder / "a.txt").unlink()
        run(prose_settings, fake_embedder, [folder], prune=True)
    else:
        delete_from_collection(prose_settings, "docs", [str(folder / "a.txt")], fake_embedder)

    copy = chunks_of(conn, "b-edited.txt")
    assert all(searchable and kind is None for _, _, searchable, kind, *_ in copy)
    vectors = [
        r[0].to_numpy()
        for r in conn.execute(
            "SELECT c.embedding FROM chunks c JOIN sources s ON s.id = c.source_id WHERE s.uri LIKE '%%/b-edited.txt'"
            " ORDER BY c.ordinal"
        )
    ]
    np.testing.assert_allclose(vectors, fake_embedder.embed([text for _, text, *_ in copy]), atol=1e-6)  # its own
    assert conn.execute(
        "SELECT (SELECT count(*) FROM duplicates), (SELECT count(*) FROM source_duplicates)"
    ).fetchone() == (0, 0)
    for paragraph in ONE_WORD_EDIT.split("\n\n"):
        assert found_in(prose_settings, conn, fake_embedder, paragraph, k=1) == ["b-edited.txt"]
    assert_stores_agree(prose_settings, conn)
    status = {c["name"]: c for c in ingest_status(conn, prose_settings)["collections"]}["docs"]
    assert (status["sources"], status["duplicates"], status["searchable_chunks"]) == (1, 0, len(copy))
